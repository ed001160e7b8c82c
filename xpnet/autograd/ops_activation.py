"""The activation primitives, each one graph node with its closed-form derivative: ReLU, LeakyReLU,
sigmoid, tanh, GELU, softmax and log-softmax (formulas as in the PyTorch ``torch.nn`` docs; GELU from
Hendrycks & Gimpel 2016). They work on raw arrays; :mod:`xpnet.nn.functional.activation` wraps them
for Tensors and :mod:`xpnet.nn.modules.activation` as layers.
"""
from __future__ import annotations

import math

from ..backend.ops import erf, gelu_fast_path
from .engine import Function

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class ReLUFn(Function):
    """y = max(x, 0); dy/dx = 1[x > 0]."""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.maximum(x, 0.0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * ctx.xp.astype(y > 0, g.dtype)  # a cast and a product: faster than where() on NumPy


class LeakyReLUFn(Function):
    """y = x if x > 0 else a·x (= max(x, a·x) for a ≤ 1); dy/dx = 1 or a."""

    @staticmethod
    def forward(ctx, x, slope):
        xp = ctx.xp
        ctx.slope = slope
        if ctx.needs_input_grad[0]:  # the sign mask is only needed for a backward pass
            ctx.save_for_backward(x > 0)
        return xp.maximum(x, x * slope) if 0.0 <= slope <= 1.0 else xp.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, g):
        (pos,) = ctx.saved_tensors
        a = ctx.slope
        return g * (ctx.xp.astype(pos, g.dtype) * (1.0 - a) + a), None


class SigmoidFn(Function):
    """σ(x) = 1/(1+e^(−x)), evaluated as e^(−|x|)-based branches so |x| = 1e4 cannot overflow;
    dσ/dx = σ(1−σ)."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        e = xp.exp(-xp.abs(x))
        inv = 1.0 / (1.0 + e)
        y = xp.where(x >= 0, inv, e * inv)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1.0 - y)


class TanhFn(Function):
    """y = tanh(x); dy/dx = 1 − y² (PyTorch ``torch.tanh``)."""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1.0 - y * y)


class GELUFn(Function):
    """GELU (Hendrycks & Gimpel 2016). Exact: y = x·Φ(x) = ½x(1 + erf(x/√2)), dy/dx = Φ(x) + x·φ(x).
    ``tanh``: y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""

    @staticmethod
    def forward(ctx, x, approximate):
        xp = ctx.xp
        ctx.approximate = approximate
        if approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
            ctx.save_for_backward(x, t)
            return 0.5 * x * (1.0 + t)
        fast = gelu_fast_path(xp, x)
        ctx.fast = fast
        if fast is not None:
            y, cdf = fast.gelu_forward(x)
            ctx.save_for_backward(x, cdf)
            return y
        cdf = 0.5 * (1.0 + erf(xp, x * (1.0 / _SQRT_2)))
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        x, s = ctx.saved_tensors
        if ctx.approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1.0 + s) + 0.5 * x * (1.0 - s * s) * inner), None
        if ctx.fast is not None and ctx.fast.gelu_backward_applicable(x):
            return ctx.fast.gelu_backward(g, x, s), None
        pdf = xp.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return g * (s + x * pdf), None


class SoftmaxFn(Function):
    """softmax(x)_i = e^(x_i − max x) / Σ_j e^(x_j − max x); backward y ⊙ (g − Σ g⊙y)."""

    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        y = e / xp.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - ctx.xp.sum(g * y, axis=ctx.axis, keepdims=True)), None


def log_softmax_array(xp, x, axis):
    """log softmax of a raw array along ``axis``: (x − max) − log Σ e^(x − max)."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


class LogSoftmaxFn(Function):
    """log softmax(x) = x − max − log Σ e^(x − max); backward g − softmax ⊙ Σ g."""

    @staticmethod
    def forward(ctx, x, axis):
        y = log_softmax_array(ctx.xp, x, axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        xp = ctx.xp
        return g - xp.exp(y) * xp.sum(g, axis=ctx.axis, keepdims=True), None


__all__ = ["GELUFn", "LeakyReLUFn", "LogSoftmaxFn", "ReLUFn", "SigmoidFn", "SoftmaxFn", "TanhFn"]
