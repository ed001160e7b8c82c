"""Losses: fused softmax-cross-entropy, negative log-likelihood, mean squared error."""
from __future__ import annotations

import math

from ...autograd import Function
from ...backend import describe
from ...backend.devices import on_host
from ...backend.special import one_hot
from ...tensor import Tensor, as_tensor
from .activation import _log_softmax

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")


def _target_distribution(xp, target, n_classes, dtype, label_smoothing, argname):
    """The per-row class distribution q (N, C) for integer labels or probability targets."""
    if xp.isdtype(target.dtype, "integral"):
        if target.ndim != 1:
            raise ValueError(f"{argname}: integer labels must have shape (N,), got {describe(target)}")
        if on_host(target) and target.shape[0] > 0:
            lo, hi = int(xp.min(target)), int(xp.max(target))
            if lo < 0 or hi >= n_classes:
                raise ValueError(f"{argname}: labels must lie in 0..{n_classes - 1}, got values in {lo}..{hi}")
        q = one_hot(xp, target, n_classes, dtype)
    elif xp.isdtype(target.dtype, "real floating"):
        if target.ndim != 2 or target.shape[1] != n_classes:
            raise ValueError(
                f"{argname}: probability targets must have shape (N, {n_classes}), got {describe(target)}; "
                "pass integer class labels of shape (N,) instead for hard labels"
            )
        q = target if target.dtype == dtype else xp.astype(target, dtype)
    else:
        raise TypeError(f"{argname}: expected integer labels or float probabilities, got {describe(target)}")
    if label_smoothing:
        q = q * (1.0 - label_smoothing) + label_smoothing / n_classes
    return q


class CrossEntropyFn(Function):
    """Softmax cross-entropy in one node: ℓᵢ = −Σ_c qᵢc log softmax(zᵢ)_c, with q the (smoothed)
    target distribution; ∂ℓᵢ/∂zᵢ = softmax(zᵢ)·Σ_c qᵢc − qᵢ (= p − q for distributions)."""

    @staticmethod
    def forward(ctx, logits, target, label_smoothing, reduction):
        xp = ctx.xp
        n, c = logits.shape
        q = _target_distribution(xp, target, c, logits.dtype, label_smoothing, "target")
        logp = _log_softmax(xp, logits, 1)
        losses = -xp.sum(q * logp, axis=1)
        ctx.save_for_backward(logp, q)
        ctx.reduction = reduction
        if reduction == "none":
            return losses
        total = xp.sum(losses)
        return total / n if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        logp, q = ctx.saved_tensors
        p = xp.exp(logp)
        dz = p * xp.sum(q, axis=1, keepdims=True) - q
        if ctx.reduction == "none":
            return dz * xp.expand_dims(g, axis=1), None, None, None
        scale = g / logp.shape[0] if ctx.reduction == "mean" else g
        return dz * scale, None, None, None


def _check_logits(x, name):
    if x.ndim != 2:
        raise ValueError(f"{name}: expected logits of shape (N, C), got {describe(x.data)}")
    return x


def _raw_target(target, input):
    data = target.data if isinstance(target, Tensor) else target
    if data.shape[0] != input.shape[0]:
        raise ValueError(f"target: expected {input.shape[0]} rows to match input, got {describe(data)}")
    if type(data) is not type(input.data):
        from ...backend import mismatch

        raise mismatch("loss", input.data, data)
    return data


def cross_entropy(input, target, label_smoothing: float = 0.0, reduction: str = "mean"):
    """Cross-entropy of logits ``input`` (N, C) against integer labels (N,) or probabilities (N, C)."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing: expected a value in [0, 1], got {label_smoothing}")
    input = _check_logits(as_tensor(input), "input")
    return CrossEntropyFn.apply(input, _raw_target(target, input), float(label_smoothing), reduction)


class NLLFn(Function):
    """ℓᵢ = −logpᵢ[yᵢ]; ∂ℓᵢ/∂logpᵢ = −onehot(yᵢ)."""

    @staticmethod
    def forward(ctx, logp, target, reduction):
        xp = ctx.xp
        q = _target_distribution(xp, target, logp.shape[1], logp.dtype, 0.0, "target")
        ctx.save_for_backward(q)
        ctx.reduction = reduction
        losses = -xp.sum(q * logp, axis=1)
        if reduction == "none":
            return losses
        total = xp.sum(losses)
        return total / logp.shape[0] if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        (q,) = ctx.saved_tensors
        if ctx.reduction == "none":
            return -q * ctx.xp.expand_dims(g, axis=1), None, None
        scale = g / q.shape[0] if ctx.reduction == "mean" else g
        return -q * scale, None, None


def nll_loss(input, target, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C) at integer labels (N,)."""
    _check_reduction(reduction)
    input = _check_logits(as_tensor(input), "input")
    return NLLFn.apply(input, _raw_target(target, input), reduction)


class MSEFn(Function):
    """ℓ = (a − b)²; ∂ℓ/∂a = 2(a − b)."""

    @staticmethod
    def forward(ctx, a, b, reduction):
        d = a - b
        ctx.save_for_backward(d)
        ctx.reduction = reduction
        sq = d * d
        if reduction == "none":
            return sq
        total = ctx.xp.sum(sq)
        return total / math.prod(d.shape) if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        scale = 2.0 * g / math.prod(d.shape) if ctx.reduction == "mean" else 2.0 * g
        gd = d * scale
        return gd, -gd, None


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error between ``input`` and ``target`` of the same shape."""
    _check_reduction(reduction)
    input = as_tensor(input)
    target = input._coerce(target, "mse_loss") if not isinstance(target, Tensor) else target
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"target: expected shape {input.shape} to match input, got {tuple(target.shape)}")
    return MSEFn.apply(input, target, reduction)
