"""Inverted dropout (Srivastava et al. 2014): y = x·m/(1−p), m ~ Bernoulli(1−p); identity in eval."""
from __future__ import annotations

from ...autograd.engine import Function, Tensor, as_tensor, data_of
from ...backend import backend_of
from ...backend.random import dropout_mask as _mask


def check_p(owner: str, p) -> float:
    """A dropout probability: a real number in [0, 1], returned as a float."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{owner}: p (dropout probability) must be a number in [0, 1], got {p!r}")
    return float(p)


class DropoutFn(Function):
    """y = x ⊙ s for a given scaled mask s; dy/dx = s."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0], None


def dropout_mask(x, p: float, generator=None):
    """The scaled keep-mask m/(1−p) for an array like ``x``, drawn from ``generator`` (an
    ``xn.Generator``) or this thread's stream of the backend."""
    is_tensor = isinstance(x, Tensor)
    data = x.data if is_tensor else x
    b = backend_of(data, x._xp if is_tensor else None)
    if p >= 1.0:
        return b.xp.zeros_like(data)
    return _mask(b, data.shape, p, data.dtype, gen=generator)


def feature_dropout(x, p: float, training: bool, spatial: int, name: str):
    """Channel-wise dropout (PyTorch ``F.dropout1d``/``dropout2d``; Tompson et al. 2015): every
    channel (N, C) is zeroed as a whole with probability ``p``, the rest scaled by 1/(1−p). ``spatial``
    = number of trailing axes per channel; an input with one axis fewer is unbatched (C, ...)."""
    p = check_p(name, p)
    x = as_tensor(x)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{name}: expected input with {spatial + 1} (unbatched) or {spatial + 2} axes, got shape "
                         f"{tuple(x.shape)}")
    if not training or p == 0.0:
        return x
    lead = x.ndim - spatial
    shape = tuple(x.shape[:lead]) + (1,) * spatial
    b = backend_of(x.data, x._xp)
    scale = b.xp.zeros(shape, dtype=x.dtype, device=getattr(x.data, "device", None)) if p >= 1.0 else \
        _mask(b, shape, p, x.dtype)
    return DropoutFn.apply(x, scale)


def dropout_scale(x, p, training, generator=None):
    """The scaled keep-mask :func:`dropout` multiplies ``x`` (Tensor or array) by, or None where
    dropout is the identity (eval, or ``p = 0``); checks ``p``."""
    p = check_p("dropout", p)
    if not training or p == 0.0:
        return None
    return dropout_mask(x, p) if generator is None else dropout_mask(x, p, generator)


def dropout(x, p: float = 0.5, training: bool = True, mask=None, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1−p) (training only;
    PyTorch ``F.dropout``).

    Args:
        x: Tensor or array of any shape.
        p: dropout probability in [0, 1].
        training: apply dropout (else return ``x``).
        mask: a given scaled mask (for reproducing a run exactly).
        generator: an ``xn.Generator`` for the mask (default: this thread's stream of the backend).
    """
    x = as_tensor(x)
    if mask is not None:
        p = check_p("dropout", p)
        return x if not training or p == 0.0 else DropoutFn.apply(x, data_of(mask))
    scale = dropout_scale(x, p, training, generator)
    return x if scale is None else DropoutFn.apply(x, scale)


__all__ = ["dropout", "dropout_mask", "feature_dropout"]
