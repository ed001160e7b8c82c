"""Shape operations: reshape, permute (transpose), indexing, concatenation."""
from __future__ import annotations

from ..backend.ops import scatter_add
from .engine import Function


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


def _row_index(index):
    """The integer index array when ``index`` selects rows (``a[idx]`` or ``a[idx, ...]``), else None."""
    items = index if isinstance(index, tuple) else (index,)
    first = items[0]
    if isinstance(first, (int, slice, type(None), type(Ellipsis))) or not hasattr(first, "dtype"):
        return None
    if any(not (i is Ellipsis or i == slice(None)) for i in items[1:]):
        return None
    return first


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
        rows = _row_index(index)
        if rows is not None and xp.isdtype(rows.dtype, "integral"):
            return scatter_add(xp, ctx.shape[0], rows, g), None
        out = xp.zeros(ctx.shape, dtype=ctx.dtype, device=ctx.device)
        out[index] = g
        return out, None


class Take(Function):
    """``take(a, indices, axis)``: gather along one axis (Array-API ``take``); backward scatter-adds,
    so repeated indices accumulate."""

    @staticmethod
    def forward(ctx, a, indices, axis):
        ctx.shape, ctx.indices, ctx.axis = a.shape, indices, axis % a.ndim
        return ctx.xp.take(a, indices, axis=axis)

    @staticmethod
    def backward(ctx, g):
        xp, axis = ctx.xp, ctx.axis
        if axis == 0:
            return scatter_add(xp, ctx.shape[0], ctx.indices, g), None, None
        perm = (axis,) + tuple(i for i in range(g.ndim) if i != axis)
        moved = scatter_add(xp, ctx.shape[axis], ctx.indices, xp.permute_dims(g, perm))
        inverse = [0] * g.ndim
        for i, p in enumerate(perm):
            inverse[p] = i
        return xp.permute_dims(moved, tuple(inverse)), None, None


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
            sl = tuple(slice(None) for _ in range(axis)) + (slice(start, start + size), Ellipsis)
            out.append(g[sl])
            start += size
        return tuple(out)
