"""Batch and layer normalisation, each one graph node with the closed-form backward."""
from __future__ import annotations


from ...autograd.engine import Function, as_tensor, data_of
from ...backend import describe
from ...backend.ops import batchnorm_kernels


class BatchNormFn(Function):
    """Batch normalisation (Ioffe & Szegedy 2015; PyTorch ``nn.BatchNorm1d``).

    Training: μ, σ² = batch mean and biased variance over the batch (and length) axes,
    x̂ = (x − μ)/√(σ² + ε), y = γx̂ + β; the running buffers move in place by
    r ← (1 − m)r + m·stat with the *unbiased* variance (PyTorch). Backward (closed form):
    dx = (1/M)·(1/√(σ²+ε))·(M·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)), dx̂ = γ·g, dγ = Σ g·x̂, dβ = Σ g; since γ is
    per channel, Σdx̂ = γ·dβ and Σ(dx̂·x̂) = γ·dγ, so dx = γ/√(σ²+ε)·(g − dβ/M − x̂·dγ/M).
    Evaluation uses the running statistics; then dx = γ·g/√(σ_r² + ε).
    Where the namespace has fused kernels (CuPy), the normalisation, the running statistics and dx are
    one launch each (:mod:`xpnet.backend.fast_cupy`).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        xp = ctx.xp
        if x.shape[0] == 0:  # an empty batch: empty output, statistics untouched (as PyTorch)
            ctx.empty = True
            return xp.zeros_like(x)
        ctx.empty = False
        flat = x.ndim == 2  # (N, C): statistics broadcast without reshapes
        axes = 0 if flat else (0, 2)
        if not flat:
            pshape = (1, x.shape[1], 1)
            weight = None if weight is None else xp.reshape(weight, pshape)
            bias = None if bias is None else xp.reshape(bias, pshape)
        fast = batchnorm_kernels(xp) if training and weight is not None and bias is not None else None
        ctx.fast = fast
        if training:
            count = x.shape[0] if flat else x.shape[0] * x.shape[2]
            mean = xp.mean(x, axis=axes, keepdims=not flat)
            xhat = x - mean
            var = xp.mean(xhat * xhat, axis=axes, keepdims=not flat)
            if fast is not None:
                if running_mean is not None:
                    fast.batchnorm_running(running_mean, running_var, mean if flat else xp.reshape(mean, (-1,)),
                                           var if flat else xp.reshape(var, (-1,)), momentum,
                                           momentum * count / max(count - 1, 1))
                xhat, y = fast.batchnorm_forward(xhat, var, weight, bias, eps)
                ctx.training, ctx.count, ctx.axes, ctx.flat, ctx.eps = training, count, axes, flat, eps
                ctx.save_for_backward(xhat, var, weight)
                return y
            inv_std = 1.0 / xp.sqrt(var + eps)
            if running_mean is not None:
                running_mean *= 1.0 - momentum
                running_mean += momentum * (mean if flat else xp.reshape(mean, (-1,)))
                running_var *= 1.0 - momentum
                running_var += (momentum * count / max(count - 1, 1)) * (var if flat else xp.reshape(var, (-1,)))
            xhat *= inv_std
        else:
            count = None
            rm, rv = (running_mean, running_var) if flat else (xp.reshape(running_mean, pshape), xp.reshape(running_var, pshape))
            inv_std = 1.0 / xp.sqrt(rv + eps)
            xhat = (x - rm) * inv_std
        ctx.training, ctx.count, ctx.axes, ctx.flat = training, count, axes, flat
        ctx.save_for_backward(xhat, inv_std, weight)
        if weight is None:
            return xhat if bias is None else xhat + bias
        y = xhat * weight
        if bias is not None:
            y += bias
        return y

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        if ctx.empty:
            _, nw, nb = ctx.needs_input_grad[:3]
            c = g.shape[1]
            z = xp.zeros((c,), dtype=g.dtype, device=getattr(g, "device", None))
            return xp.zeros_like(g), (z if nw else None), (z if nb else None), None, None, None, None, None
        xhat, inv_std, weight = ctx.saved_tensors  # fused: the variance σ², not 1/√(σ²+ε)
        axes, flat = ctx.axes, ctx.flat
        _, nw, nb = ctx.needs_input_grad[:3]
        if ctx.training:
            m = ctx.count
            gb = xp.sum(g, axis=axes, keepdims=not flat)
            gw = xp.sum(g * xhat, axis=axes, keepdims=not flat)
            if ctx.fast is not None:
                gx = ctx.fast.batchnorm_backward(g, xhat, gb, gw, weight, inv_std, ctx.eps, 1.0 / m)
            else:  # dx = γ/√(σ²+ε)·(g − Σg/M − x̂·Σ(g·x̂)/M)
                gx = g - gb * (1.0 / m)
                gx -= xhat * (gw * (1.0 / m))
                gx *= inv_std if weight is None else weight * inv_std
            gw, gb = (gw if nw else None), (gb if nb else None)
            if not flat:
                gw = None if gw is None else xp.reshape(gw, (-1,))
                gb = None if gb is None else xp.reshape(gb, (-1,))
            return gx, gw, gb, None, None, None, None, None
        gw = xp.sum(g * xhat, axis=axes) if nw else None
        gb = xp.sum(g, axis=axes) if nb else None
        gx = (g if weight is None else g * weight) * inv_std
        if not flat:
            gw = None if gw is None else xp.reshape(gw, (-1,))
            gb = None if gb is None else xp.reshape(gb, (-1,))
        return gx, gw, gb, None, None, None, None, None


def batch_norm_args(shape, running_mean, running_var, weight, training, momentum, eps):
    """Check the arguments of a batch normalisation of an input of ``shape`` and return the
    non-differentiable arguments of :class:`BatchNormFn`: (running_mean, running_var, training,
    momentum, eps). Without running statistics the batch statistics are always used."""
    if len(shape) not in (2, 3):
        raise ValueError(f"batch_norm: expected input (N, C) or (N, C, L), got shape {tuple(shape)}")
    c = shape[1]
    for name, a in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight)):
        if a is not None and tuple(a.shape) != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input of shape {tuple(shape)}, "
                             f"got {tuple(a.shape)}")
    training = bool(training) or running_mean is None
    if training and shape[0] * (shape[2] if len(shape) == 3 else 1) == 1:
        raise ValueError(f"batch_norm: training needs more than one value per channel, got input shape {tuple(shape)}")
    return running_mean, running_var, training, float(momentum), float(eps)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation, PyTorch ``F.batch_norm`` semantics (formula in :class:`BatchNormFn`).

    Args:
        x: Tensor (N, C) or (N, C, L).
        running_mean, running_var: raw arrays (C,) updated in place in training, or None (then the
            batch statistics are used always).
        weight, bias: Tensors (C,) (γ, β) or None.
        training: use the batch statistics (and update the running ones).
        momentum: r ← (1 − momentum)·r + momentum·stat.
        eps: added to the variance.

    Shape: the output has the input's shape.
    """
    x = as_tensor(x)
    args = batch_norm_args(x.shape, running_mean, running_var, data_of(weight), training, momentum, eps)
    return BatchNormFn.apply(x, weight, bias, *args)


class LayerNormFn(Function):
    """Layer normalisation (Ba et al. 2016) over the last k axes:
    x̂ = (x − μ)/√(σ² + ε), y = γx̂ + β; dx = (1/M)(1/√(σ²+ε))(M·dx̂ − Σdx̂ − x̂Σ(dx̂·x̂))."""

    @staticmethod
    def forward(ctx, x, weight, bias, k, eps):
        xp = ctx.xp
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = xp.mean(x, axis=axes, keepdims=True)
        xc = x - mean
        var = xp.mean(xc * xc, axis=axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + eps)
        xhat = xc * inv_std
        ctx.axes = axes
        ctx.m = 1
        for a in axes:
            ctx.m *= x.shape[a]
        ctx.save_for_backward(xhat, inv_std, weight)
        y = xhat if weight is None else xhat * weight
        return y if bias is None else y + bias

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        xhat, inv_std, weight = ctx.saved_tensors
        axes, m = ctx.axes, ctx.m
        lead = tuple(range(g.ndim - len(axes)))
        _, nw, nb = ctx.needs_input_grad[:3]
        gw = xp.sum(g * xhat, axis=lead) if nw else None
        gb = xp.sum(g, axis=lead) if nb else None
        dxhat = g if weight is None else g * weight
        s1 = xp.sum(dxhat, axis=axes, keepdims=True)
        s2 = xp.sum(dxhat * xhat, axis=axes, keepdims=True)
        gx = (inv_std / m) * (m * dxhat - s1 - xhat * s2)
        return gx, gw, gb, None, None


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    x = as_tensor(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[-len(shape):]) != shape:
        raise ValueError(f"input: expected trailing shape {shape}, got {describe(x.data)}")
    return LayerNormFn.apply(x, weight, bias, len(shape), float(eps))


__all__ = ["batch_norm", "layer_norm"]
