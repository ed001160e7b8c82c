"""Matrix product with broadcasting over leading (batch) axes."""
from __future__ import annotations

from .engine import Function
from .ops_elementwise import unbroadcast


class MatMul(Function):
    """C = A @ B. dA = dC @ Bᵀ, dB = Aᵀ @ dC (1-D operands are promoted and the axis removed again)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        na, nb = ctx.needs_input_grad
        a2 = xp.expand_dims(a, axis=0) if a.ndim == 1 else a
        b2 = xp.expand_dims(b, axis=-1) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, axis=-2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, axis=-1)
        ga = gb = None
        if na:
            ga = g2 @ xp.matrix_transpose(b2)
            ga = unbroadcast(xp, ga, a2.shape)
            ga = xp.reshape(ga, a.shape)
        if nb:
            gb = xp.matrix_transpose(a2) @ g2
            gb = unbroadcast(xp, gb, b2.shape)
            gb = xp.reshape(gb, b.shape)
        return ga, gb
