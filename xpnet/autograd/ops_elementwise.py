"""Elementwise arithmetic with broadcasting: + − × ÷, negation, power, exp, log, maximum (the
activations, tanh included, are in :mod:`xpnet.autograd.ops_activation`)."""
from __future__ import annotations

from .engine import Function


def unbroadcast(xp, g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    return xp.reshape(xp.sum(g, axis=axes), shape) if axes else xp.reshape(g, shape)


def _shape(a):
    return getattr(a, "shape", ())


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a + b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(ctx.xp, g, sa) if na else None, unbroadcast(ctx.xp, g, sb) if nb else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a - b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(ctx.xp, g, sa) if na else None, unbroadcast(ctx.xp, -g, sb) if nb else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        return (unbroadcast(xp, g * b, _shape(a)) if na else None, unbroadcast(xp, g * a, _shape(b)) if nb else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        ga = unbroadcast(xp, g / b, _shape(a)) if na else None
        gb = unbroadcast(xp, -g * a / (b * b), _shape(b)) if nb else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """x ** p for a Python-number exponent p: d/dx = p·x^(p−1)."""

    @staticmethod
    def forward(ctx, a, p):
        ctx.save_for_backward(a)
        ctx.p = p
        return a**p

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        p = ctx.p
        return g * (p * a ** (p - 1)), None


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log(a)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.saved_tensors[0]


class Maximum(Function):
    """maximum(a, b); where a == b the gradient goes half to each (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        na, nb = ctx.needs_input_grad
        dtype = g.dtype
        wa = xp.astype(a > b, dtype) + 0.5 * xp.astype(a == b, dtype)
        ga = unbroadcast(xp, g * wa, _shape(a)) if na else None
        gb = unbroadcast(xp, g * (1.0 - wa), _shape(b)) if nb else None
        return ga, gb
