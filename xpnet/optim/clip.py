"""Gradient clipping, on the device (no host synchronisation)."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import check_number


def _with_grads(parameters):
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None):
    """Scale all gradients by min(1, max_norm/(‖g‖ + 1e-6)), ‖g‖ the norm of all gradients joined
    (PyTorch ``clip_grad_norm_``). Returns the total norm as a 0-d backend array. ``foreach`` is
    accepted and ignored; ``error_if_nonfinite=True`` would need a device read and is refused."""
    check_number("clip_grad_norm_", "max_norm", max_norm, 0.0)
    if norm_type != float("inf"):
        check_number("clip_grad_norm_", "norm_type", norm_type, 0.0, False)
    if error_if_nonfinite:
        raise NotImplementedError("clip_grad_norm_: error_if_nonfinite=True is not supported (it reads the norm on "
                                  "the host every step); xn.fit stops on a non-finite loss instead")
    params = _with_grads(parameters)
    if not params:
        return 0.0
    xp = params[0]._xp
    if norm_type == float("inf"):
        total = xp.max(xp.stack([xp.max(xp.abs(p.grad)) for p in params]))
    else:
        total = sum(xp.sum(xp.abs(p.grad) ** norm_type) for p in params) ** (1.0 / norm_type)
    coef = xp.minimum(max_norm / (total + 1e-6), xp.ones_like(total))
    for p in params:
        p.grad = p.grad * coef
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to [−clip_value, clip_value]."""
    check_number("clip_grad_value_", "clip_value", clip_value, 0.0)
    for p in _with_grads(parameters):
        p.grad = p._xp.clip(p.grad, -clip_value, clip_value)
