"""Losses: fused softmax-cross-entropy, negative log-likelihood, mean squared error."""
from __future__ import annotations

import math

from ...autograd import Function
from ...backend import describe
from ...backend.devices import on_host
from ...backend import load as _load
from ...backend.special import is_integral, label_range, one_hot, pick
from ...tensor import Tensor, as_tensor
from .activation import _log_softmax

_REDUCTIONS = ("none", "mean", "sum")
_HOST_NS = [_load("numpy").xp]


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")


def _target_distribution(xp, target, n_classes, dtype, label_smoothing, argname):
    """The per-row class distribution q (N, C) for integer labels or probability targets."""
    if xp.isdtype(target.dtype, "integral"):
        _check_labels(xp, target, n_classes, argname)
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


def _check_labels(xp, target, n_classes, argname):
    """Shape always; value range where the labels are in host memory (no device synchronisation)."""
    if target.ndim != 1:
        raise ValueError(f"{argname}: integer labels must have shape (N,), got {describe(target)}")
    if (xp is _HOST_NS[0] or on_host(target)) and target.shape[0] > 0:
        lo, hi = label_range(xp, target)
        if lo < 0 or hi >= n_classes:
            raise ValueError(f"{argname}: labels must lie in 0..{n_classes - 1}, got values in {lo}..{hi}")


class CrossEntropyFn(Function):
    """Softmax cross-entropy in one node: ℓᵢ = −Σ_c qᵢc log softmax(zᵢ)_c, with q the (smoothed)
    target distribution; ∂ℓᵢ/∂zᵢ = softmax(zᵢ)·Σ_c qᵢc − qᵢ (= p − q for distributions).
    Integer labels take the picked log-probability (``take_along_axis``) instead of forming q:
    ℓᵢ = −(1 − ε) log pᵢ,yᵢ − (ε/C) Σ_c log pᵢc."""

    @staticmethod
    def forward(ctx, logits, target, label_smoothing, reduction):
        xp = ctx.xp
        n, c = logits.shape
        logp = _log_softmax(xp, logits, 1)
        ctx.reduction, ctx.smoothing = reduction, label_smoothing
        if is_integral(xp, target.dtype):
            _check_labels(xp, target, c, "target")
            losses = -pick(xp, logp, target)
            if label_smoothing:
                losses = losses * (1.0 - label_smoothing) - (label_smoothing / c) * xp.sum(logp, axis=1)
            ctx.save_for_backward(logp, target)
        else:
            q = _target_distribution(xp, target, c, logits.dtype, label_smoothing, "target")
            losses = -xp.sum(q * logp, axis=1)
            ctx.save_for_backward(logp, q)
        if reduction == "none":
            return losses
        total = xp.sum(losses)
        return total / n if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        logp, t = ctx.saved_tensors
        p = xp.exp(logp)
        if is_integral(xp, t.dtype):
            q = one_hot(xp, t, logp.shape[1], logp.dtype)
            eps = ctx.smoothing
            if eps:
                q = q * (1.0 - eps) + eps / logp.shape[1]
            dz = p - q
        else:
            dz = p * xp.sum(t, axis=1, keepdims=True) - t
        if ctx.reduction == "none":
            return dz * xp.expand_dims(g, axis=1), None, None, None
        dz *= g / logp.shape[0] if ctx.reduction == "mean" else g
        return dz, None, None, None


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
