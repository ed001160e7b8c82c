"""Reductions: sum and mean over axes."""
from __future__ import annotations

import math

from .engine import Function


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)


def _expand(xp, g, shape, axes, keepdims):
    if not keepdims:
        g = xp.reshape(g, tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return xp.broadcast_to(g, shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.shape = a.shape
        ctx.axes = _axes(axis, a.ndim)
        ctx.keepdims = keepdims
        return ctx.xp.sum(a, axis=axis if axis is None else ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand(ctx.xp, g, ctx.shape, ctx.axes, ctx.keepdims), None, None


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.shape = a.shape
        ctx.axes = _axes(axis, a.ndim)
        ctx.keepdims = keepdims
        ctx.count = math.prod(a.shape[i] for i in ctx.axes)
        return ctx.xp.mean(a, axis=axis if axis is None else ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand(ctx.xp, g / ctx.count, ctx.shape, ctx.axes, ctx.keepdims), None, None
