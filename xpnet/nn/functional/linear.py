"""The affine map y = x Wᵀ + b as one graph node (PyTorch ``F.linear``).

>>> import xpnet as xn
>>> w = xn.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 0.0]])
>>> xn.to_numpy(xn.nn.functional.linear(xn.tensor([[1.0, 1.0]]), w)).tolist()
[[3.0, -1.0, 3.0]]
"""
from __future__ import annotations

from ...autograd.engine import Function, as_tensor, data_of
from ...backend import BackendMismatchError, backend_of, describe
from ...backend.ops import affine, folds_bias


class LinearFn(Function):
    """y = x Wᵀ + b (W: out×in). Backward: dx = g W, dW = gᵀ x, db = Σ_rows g."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return affine_forward(ctx.xp, x, w, b)

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


def affine_forward(xp, x, w, b):
    """x Wᵀ + b: one call with the bias folded into the product where the backend has one (PyTorch's
    addmm, :func:`xpnet.backend.ops.affine`), else the product and an in-place add."""
    if b is not None and folds_bias(xp):
        return affine(xp, x, w, b)
    y = x @ w.T if w.ndim == 2 and x.ndim == 2 else x @ xp.matrix_transpose(w)
    if b is not None:
        y += b
    return y


def check_linear_input(data, w) -> None:
    """Raise a clear error unless the raw input ``data`` fits the raw weight ``w`` (out, in): the
    last axis has ``in`` features, same backend and device, same dtype."""
    if data.shape[-1] != w.shape[-1]:
        raise ValueError(
            f"linear: input has {data.shape[-1]} features (shape {tuple(data.shape)}), expected {w.shape[-1]} "
            f"(the weight is {tuple(w.shape)} = (out_features, in_features))"
        )
    if type(data) is not type(w) or getattr(data, "device", None) != getattr(w, "device", None):
        bx, bw = backend_of(data), backend_of(w)
        if (bx.name, str(bx.device)) != (bw.name, str(bw.device)):
            raise BackendMismatchError(
                f"linear: the input is on backend {describe(data)} but the weight is on "
                f"{describe(w)}: the backends differ; move the input with xn.to_device(x, "
                f"{bw.name!r}) (or the model with model.to(...)) first"
            )
    if data.dtype != w.dtype:
        raise TypeError(
            f"linear: input dtype {data.dtype} differs from weight dtype {w.dtype}; "
            "convert the data (xn.asarray(x, dtype=...)) or the model instead of mixing precisions"
        )


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` (PyTorch ``F.linear``).

    Args:
        input: Tensor or array (*, in_features).
        weight: Tensor (out_features, in_features).
        bias: Tensor (out_features,) or None.

    Shape: (*, in_features) → (*, out_features).
    """
    x = as_tensor(input)
    check_linear_input(x.data, data_of(weight))
    return LinearFn.apply(x, weight, bias)


__all__ = ["linear"]
