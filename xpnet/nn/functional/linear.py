"""Affine map as one graph node."""
from __future__ import annotations

from ...autograd import Function
from ...tensor import as_tensor


class LinearFn(Function):
    """y = x Wᵀ + b (W: out×in). Backward: dx = g W, dW = gᵀ x, db = Σ_rows g."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        y = x @ w.T if w.ndim == 2 and x.ndim == 2 else x @ ctx.xp.matrix_transpose(w)
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        xp = ctx.xp
        nx, nw, nb = ctx.needs_input_grad
        g2 = g if g.ndim == 2 else xp.reshape(g, (-1, g.shape[-1]))
        x2 = x if x.ndim == 2 else xp.reshape(x, (-1, x.shape[-1]))
        gx = (g @ w) if nx else None
        gw = (g2.T @ x2) if nw else None
        gb = xp.sum(g2, axis=0) if nb else None
        return gx, gw, gb


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` (PyTorch ``F.linear``)."""
    return LinearFn.apply(as_tensor(x), weight, bias)
