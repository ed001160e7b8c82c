"""Finite-difference gradient checking (float64), for any backend.

Compares the analytic vector-Jacobian product of ``fn`` at random cotangent v with the central
difference (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h of L = Σ v ⊙ fn(x), one input element at a time.
"""
from __future__ import annotations

from ..backend import asarray, backend_of, dtype_name, to_numpy
from ..backend.random import normal
from .grad_mode import no_grad


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4, raise_exception=True):
    """True when the analytic gradients of ``fn(*inputs)`` w.r.t. every input with ``requires_grad``
    match central finite differences. Inputs should be float64 Tensors; ``fn`` must be deterministic."""
    inputs = list(inputs)
    outs = _as_tuple(fn(*inputs))
    b = backend_of(outs[0].data)
    cot = [normal(o.shape, dtype=o.dtype, backend=b) for o in outs]

    def objective():
        with no_grad():
            total = 0.0
            for o, v in zip(_as_tuple(fn(*inputs)), cot):
                total += float(to_numpy(o._xp.sum(o.data * v)))
            return total

    for t in inputs:
        t.grad = None
    loss = None
    for o, v in zip(outs, cot):
        term = (o * v).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for k, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        analytic = to_numpy(t.grad) if t.grad is not None else 0.0 * to_numpy(t.data)
        base = to_numpy(t.data).copy()
        numeric = base * 0.0
        original = t.data
        tb = backend_of(original)
        dtype = dtype_name(original.dtype)
        for i in range(base.size):
            for sign in (1.0, -1.0):
                x = base.copy()
                x.flat[i] += sign * eps
                t.data = asarray(x, dtype=dtype, backend=tb)
                numeric.flat[i] += sign * objective() / (2 * eps)
        t.data = original
        err = abs(analytic - numeric)
        bad = err > atol + rtol * abs(numeric)
        if bad.any():
            if raise_exception:
                j = int(bad.argmax())
                raise AssertionError(
                    f"gradcheck: input {k} element {j}: analytic {analytic.flat[j]:.8g} vs numeric "
                    f"{numeric.flat[j]:.8g} (max abs error {err.max():.3g})"
                )
            return False
    return True
