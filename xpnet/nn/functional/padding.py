"""Padding of the last one or two axes: ``zeros``/``constant``, ``reflect``, ``replicate``, ``circular``
(PyTorch ``F.pad`` modes and ``Conv*d(padding_mode=...)``).

The non-constant modes are a gather along each padded axis, written as a product with a 0/1 selection
matrix S (L_out × L): y = x Sᵀ along that axis, so the gradient is g S (every copy of an input element
adds up) and the code is plain Array API through the engine's matmul.
"""
from __future__ import annotations

from ...backend import describe
from ...backend.ops import one_hot
from ...tensor import as_tensor

MODES = ("zeros", "constant", "reflect", "replicate", "circular")


def _source_index(n, lo, hi, mode):
    """For each padded position, the input position it copies."""
    out = []
    for i in range(-lo, n + hi):
        if mode == "replicate":
            out.append(min(max(i, 0), n - 1))
        elif mode == "circular":
            out.append(i % n)
        else:  # reflect (no edge repeat)
            period = 2 * (n - 1)
            j = abs(i) % period if period else 0
            out.append(period - j if j >= n else j)
    return out


def _selection(xp, n, lo, hi, mode, dtype, device):
    idx = xp.asarray(_source_index(n, lo, hi, mode), dtype=xp.int64, device=device)
    return one_hot(xp, idx, n, dtype)  # (n + lo + hi, n)


def pad(x, pad_widths, mode: str = "zeros", value: float = 0.0):
    """Pad ``x``: ``pad_widths`` = (left, right) for the last axis, or (left, right, top, bottom) for
    the last two (PyTorch ``F.pad`` order)."""
    x = as_tensor(x)
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {MODES}, got {mode!r}")
    pw = tuple(int(p) for p in pad_widths)
    if len(pw) not in (2, 4) or any(p < 0 for p in pw):
        raise ValueError(f"pad: expected 2 or 4 non-negative widths (left, right[, top, bottom]), got {pad_widths!r}")
    if len(pw) // 2 > x.ndim:
        raise ValueError(f"pad: {len(pw) // 2} axes to pad, input {describe(x.data)}")
    xp, dev = x._xp, getattr(x.data, "device", None)
    if mode in ("zeros", "constant"):
        return _constant(x, pw, value)
    for k in range(len(pw) // 2):
        lo, hi = pw[2 * k], pw[2 * k + 1]
        if not (lo or hi):
            continue
        axis = x.ndim - 1 - k
        n = x.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the padded size {n}")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: circular padding ({lo}, {hi}) must be at most the padded size {n}")
        s = _selection(xp, n, lo, hi, mode, x.dtype, dev)
        if axis == x.ndim - 1:
            x = x @ xp.matrix_transpose(s)
        else:
            x = x.__rmatmul__(s)  # s @ x (a raw left operand would not defer to Tensor)
    return x


def _constant(x, pw, value):
    from ...tensor import concat

    xp, dev = x._xp, getattr(x.data, "device", None)
    for k in range(len(pw) // 2):
        lo, hi = pw[2 * k], pw[2 * k + 1]
        axis = x.ndim - 1 - k
        parts = []
        for w in (lo, None, hi):
            if w is None:
                parts.append(x)
            elif w:
                shape = list(x.shape)
                shape[axis] = w
                parts.append(xp.full(tuple(shape), value, dtype=x.dtype, device=dev))
        if len(parts) > 1:
            x = concat(parts, axis=axis)
    return x
