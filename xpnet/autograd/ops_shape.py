"""Shape operations: reshape, permute (transpose), indexing, concatenation."""
from __future__ import annotations

from ..backend.special import scatter_add
from .function import Function


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return ctx.xp.reshape(a, shape)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.reshape(g, ctx.shape), None


class Permute(Function):
    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return ctx.xp.permute_dims(a, axes)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.axes)
        for i, a in enumerate(ctx.axes):
            inverse[a] = i
        return ctx.xp.permute_dims(g, tuple(inverse)), None


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Function):
    """``a[index]``. Basic indices scatter the gradient back by assignment; an integer array on axis 0
    scatter-adds (repeated rows accumulate); a boolean mask assigns."""

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        ctx.device = getattr(a, "device", None)
        return a[index]

    @staticmethod
    def backward(ctx, g):
        xp, index = ctx.xp, ctx.index
        if not _is_basic(index) and not isinstance(index, tuple) and xp.isdtype(index.dtype, "integral"):
            return scatter_add(xp, ctx.shape[0], index, g), None
        out = xp.zeros(ctx.shape, dtype=ctx.dtype, device=ctx.device)
        out[index] = g
        return out, None


class Concat(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        return ctx.xp.concat(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        out, start = [None], 0
        axis = ctx.axis % g.ndim
        for size in ctx.sizes:
            sl = tuple(slice(None) for _ in range(axis)) + (slice(start, start + size),)
            out.append(g[sl])
            start += size
        return tuple(out)
