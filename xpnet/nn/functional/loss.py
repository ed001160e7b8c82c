"""Losses: fused softmax-cross-entropy, negative log-likelihood, mean squared error."""
from __future__ import annotations

import math

from ...autograd import Function
from ...backend import describe
from ...backend.devices import on_host
from ...backend.ops import host_native, is_integral, label_range, one_hot, pick
from ...tensor import Tensor, as_tensor
from ...autograd.ops_activation import log_softmax_array as _log_softmax

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")


def _legacy(owner, size_average, reduce):
    if size_average is not None or reduce is not None:
        raise NotImplementedError(f"{owner}: size_average and reduce are PyTorch's deprecated arguments and are not "
                                  f"supported (got size_average={size_average!r}, reduce={reduce!r}); use "
                                  "reduction='none'|'mean'|'sum'")


def _index_labels(xp, target):
    """Integer labels in an index dtype (int64 unless int32/int64 already): uint8/int8/uint32 labels
    would otherwise be read as masks or refused by some namespaces."""
    if target.dtype == xp.int64 or target.dtype == xp.int32:
        return target
    return xp.astype(target, xp.int64)


def _check_labels(xp, target, n_classes, argname, ignore_index):
    """Shape always; value range where the labels are in host memory (no device synchronisation).
    Returns whether rows must be masked for ``ignore_index`` (True when that is unknown without a
    device read)."""
    if target.ndim != 1:
        raise ValueError(f"{argname}: integer labels must have shape (N,), got {describe(target)}")
    if not ((host_native(xp) or on_host(target)) and target.shape[0] > 0):
        return True
    lo, hi = label_range(xp, target)
    masked = lo <= ignore_index <= hi
    if masked and not 0 <= ignore_index < n_classes:
        valid = target[target != ignore_index]
        if valid.shape[0] == 0:
            return True
        lo, hi = label_range(xp, valid)
    if lo < 0 or hi >= n_classes:
        raise ValueError(f"{argname}: labels must lie in 0..{n_classes - 1} (or equal ignore_index={ignore_index}), "
                         f"got values in {lo}..{hi}")
    return masked


def _class_coefficients(xp, target, weight, valid, c, dtype):
    """w_y per row (0 where ignored) for integer labels."""
    safe = target if valid is None else xp.where(valid, target, xp.zeros_like(target))
    wy = None if weight is None else xp.take(weight, safe, axis=0)
    if valid is not None:
        v = xp.astype(valid, dtype)
        wy = v if wy is None else wy * v
    return safe, wy


class CrossEntropyFn(Function):
    """Softmax cross-entropy in one node (PyTorch ``F.cross_entropy`` semantics).

    Integer labels y (ignored rows: y = ignore_index) with class weights w (1 if None):
    ℓᵢ = −(1 − ε) w_yᵢ log pᵢ,yᵢ − (ε/C) Σ_c w_c log pᵢc, 'mean' = Σℓᵢ / Σᵢ w_yᵢ (non-ignored rows).
    Probability targets q: ℓᵢ = −Σ_c w_c q̃ᵢc log pᵢc, q̃ = (1 − ε)q + ε/C, 'mean' = Σℓᵢ / N.
    Gradients: with aᵢc the coefficient of log pᵢc, ∂ℓᵢ/∂zᵢ = pᵢ Σ_c aᵢc − aᵢ; ∂ℓᵢ/∂qᵢc = −(1 − ε) w_c log pᵢc."""

    @staticmethod
    def forward(ctx, logits, target, weight, label_smoothing, reduction, ignore_index):
        xp = ctx.xp
        n, c = logits.shape
        eps = label_smoothing
        logp = _log_softmax(xp, logits, 1)
        ctx.reduction, ctx.smoothing = reduction, eps
        if is_integral(xp, target.dtype):
            target = _index_labels(xp, target)
            masked = _check_labels(xp, target, c, "target", ignore_index)
            if masked and weight is None and not eps and ignore_index < 0:
                # labels not readable here (device) or some ignored: the one-hot rows of ignored labels
                # are zero, so they drop out of the loss, the count and the gradient with no extra mask
                q = one_hot(xp, target, c, logits.dtype)
                ctx.save_for_backward(logp, q, None, None)
                ctx.kind = "onehot"
                if reduction == "none":
                    return -xp.sum(q * logp, axis=1)
                total = xp.sum(q * logp)  # no per-row losses needed: −Σ q log p, over Σq for the mean
                if reduction == "sum":
                    return -total
                ctx.den = xp.sum(q)
                return total / -ctx.den
            valid = (target != ignore_index) if masked else None
            safe, wy = _class_coefficients(xp, target, weight, valid, c, logits.dtype)
            losses = -pick(xp, logp, safe)
            if wy is not None:
                losses = losses * wy
            if eps:
                wl = logp if weight is None else logp * weight
                smooth = xp.sum(wl, axis=1)
                if valid is not None:
                    smooth = smooth * xp.astype(valid, logits.dtype)
                losses = losses * (1.0 - eps) - (eps / c) * smooth
            den = n if wy is None else xp.sum(wy)
            ctx.validf = None if valid is None else xp.expand_dims(xp.astype(valid, logits.dtype), axis=1)
            ctx.save_for_backward(logp, safe, weight, wy)
            ctx.kind = "int"
        else:
            if target.shape != logits.shape:
                raise ValueError(f"target: probability targets must have shape {tuple(logits.shape)}, got "
                                 f"{describe(target)}; pass integer class labels instead for hard labels")
            q = target if target.dtype == logits.dtype else xp.astype(target, logits.dtype)
            if eps:
                q = q * (1.0 - eps) + eps / c
            a = q if weight is None else q * weight
            losses = -xp.sum(a * logp, axis=1)
            den = n
            ctx.save_for_backward(logp, a, weight, None)
            ctx.kind = "prob"
        ctx.den = den
        if reduction == "none":
            return losses
        total = xp.sum(losses)
        return total / den if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        logp, t, weight, wy = ctx.saved_tensors
        p = xp.exp(logp)
        c = logp.shape[1]
        eps = ctx.smoothing
        if ctx.kind == "onehot":  # rows of t sum to 1, or 0 where the label is ignored
            dz = p * xp.sum(t, axis=1, keepdims=True) - t
            dq = None
        elif ctx.kind == "int":
            a = one_hot(xp, t, c, logp.dtype)
            if wy is not None:
                a = a * xp.expand_dims(wy, axis=1)
            if eps:
                smooth = (eps / c) * (xp.ones_like(a) if weight is None else xp.broadcast_to(weight, a.shape))
                if ctx.validf is not None:  # ignored rows get no smoothing term either
                    smooth = smooth * ctx.validf
                a = a * (1.0 - eps) + smooth
            # rows of a sum to 1 without class weights or ignored rows: the softmax gradient p − a
            dz = p - a if weight is None and wy is None else p * xp.sum(a, axis=1, keepdims=True) - a
            dq = None
        else:
            a = t
            dz = p * xp.sum(a, axis=1, keepdims=True) - a
            dq = None
            if ctx.needs_input_grad[1]:
                dq = -(1.0 - eps) * (logp if weight is None else logp * weight)
        if ctx.reduction == "none":
            ge = xp.expand_dims(g, axis=1)
            return dz * ge, (None if dq is None else dq * ge), None, None, None, None
        scale = g / ctx.den if ctx.reduction == "mean" else g
        return dz * scale, (None if dq is None else dq * scale), None, None, None, None


def _raw_target(target, input, owner):
    data = target.data if isinstance(target, Tensor) else target
    if not hasattr(data, "shape"):
        raise TypeError(f"{owner}: target must be an array or Tensor of labels, got {type(target).__name__}")
    if type(data) is not type(input.data):
        from ...backend import mismatch

        raise mismatch(owner, input.data, data)
    return data


def _flatten_classes(input, target, owner):
    """(N, C, d1..dk) input and (N, d1..dk) labels / (N, C, d1..dk) probabilities → rows (M, C),
    unbatched (C,) → (1, C). Returns input2d, target2d, the shape of per-element losses."""
    data = _raw_target(target, input, owner)
    tgt = target if isinstance(target, Tensor) else Tensor(data)
    integral = is_integral(input._xp, data.dtype)
    if input.ndim == 1:
        want = () if integral else tuple(input.shape)
        if tuple(data.shape) != want:
            raise ValueError(f"target: for an unbatched input of shape {tuple(input.shape)} expected target shape "
                             f"{want}, got {describe(data)}")
        return input.reshape(1, input.shape[0]), tgt.reshape((1,) + want), ()
    if input.ndim < 1:
        raise ValueError(f"input: expected logits of shape (N, C) or (N, C, d1, ...), got {describe(input.data)}")
    n, c = input.shape[0], input.shape[1]
    spatial = tuple(input.shape[2:])
    want = (n,) + spatial if integral else tuple(input.shape)
    if tuple(data.shape) != want:
        if data.ndim >= 1 and data.shape[0] != n:
            raise ValueError(f"target: expected {n} rows to match input, got {describe(data)}")
        if not integral:
            raise ValueError(f"target: expected probability targets of shape {want} (the input's), got "
                             f"{describe(data)}; pass integer class labels of shape {(n,) + spatial} for hard labels")
        raise ValueError(f"target: expected class labels of shape {want} for input {tuple(input.shape)}, got "
                         f"{describe(data)}")
    if not spatial:
        return input, tgt, (n,)
    k = len(spatial)
    perm = (0,) + tuple(range(2, 2 + k)) + (1,)
    rows = input.transpose(perm).reshape(-1, c)
    tflat = tgt.reshape(-1) if integral else tgt.transpose(perm).reshape(-1, c)
    return rows, tflat, (n,) + spatial


def _class_weight(weight, input, owner):
    if weight is None:
        return None
    data = weight.data if isinstance(weight, Tensor) else weight
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if not hasattr(data, "shape") or tuple(data.shape) != (c,):
        raise ValueError(f"{owner}: weight must be a 1-D array of {c} class weights, got "
                         f"{describe(data) if hasattr(data, 'shape') else repr(weight)}")
    if type(data) is not type(input.data):
        from ...backend import mismatch

        raise mismatch(owner, input.data, data)
    if data.dtype != input.dtype:
        raise TypeError(f"{owner}: weight dtype {data.dtype} differs from input dtype {input.dtype}; pass class "
                        "weights of the input's dtype")
    return data


def _check_common(owner, reduction, ignore_index):
    _check_reduction(reduction)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"{owner}: ignore_index must be an int, got {ignore_index!r}")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """PyTorch ``F.cross_entropy``: logits (N, C), (N, C, d1, ...) or unbatched (C,) against integer
    labels ((N,), (N, d1, ...), ()) or class probabilities of the input's shape; class ``weight``,
    ``ignore_index``, ``label_smoothing``."""
    _legacy("cross_entropy", size_average, reduce)
    _check_common("cross_entropy", reduction, ignore_index)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) or not (
            0.0 <= label_smoothing <= 1.0):
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing!r}")
    input = as_tensor(input)
    w = _class_weight(weight, input, "cross_entropy")
    rows, tgt, shape = _flatten_classes(input, target, "cross_entropy")
    if ignore_index != -100 and not is_integral(input._xp, tgt.dtype):
        raise ValueError(f"cross_entropy: ignore_index={ignore_index} applies to class labels only, not to "
                         "probability targets")
    out = CrossEntropyFn.apply(rows, tgt, w, float(label_smoothing), reduction, ignore_index)
    return out.reshape(shape) if reduction == "none" and tuple(out.shape) != shape else out


class NLLFn(Function):
    """ℓᵢ = −w_yᵢ logpᵢ[yᵢ] (0 for ignored rows), 'mean' = Σℓᵢ / Σ w_yᵢ; ∂ℓᵢ/∂logpᵢ = −w_yᵢ onehot(yᵢ)."""

    @staticmethod
    def forward(ctx, logp, target, weight, reduction, ignore_index):
        xp = ctx.xp
        n, c = logp.shape
        target = _index_labels(xp, target)
        masked = _check_labels(xp, target, c, "target", ignore_index)
        valid = (target != ignore_index) if masked else None
        safe, wy = _class_coefficients(xp, target, weight, valid, c, logp.dtype)
        losses = -pick(xp, logp, safe)
        if wy is not None:
            losses = losses * wy
        ctx.save_for_backward(safe, wy)
        ctx.reduction, ctx.c, ctx.den = reduction, c, (n if wy is None else xp.sum(wy))
        if reduction == "none":
            return losses
        total = xp.sum(losses)
        return total / ctx.den if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        safe, wy = ctx.saved_tensors
        d = -one_hot(xp, safe, ctx.c, g.dtype)
        if wy is not None:
            d = d * xp.expand_dims(wy, axis=1)
        if ctx.reduction == "none":
            return d * xp.expand_dims(g, axis=1), None, None, None, None
        return d * (g / ctx.den if ctx.reduction == "mean" else g), None, None, None, None


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean"):
    """PyTorch ``F.nll_loss``: log-probabilities (N, C), (N, C, d1, ...) or (C,) at integer labels, with
    class ``weight`` and ``ignore_index``."""
    _legacy("nll_loss", size_average, reduce)
    _check_common("nll_loss", reduction, ignore_index)
    input = as_tensor(input)
    w = _class_weight(weight, input, "nll_loss")
    data = _raw_target(target, input, "nll_loss")
    if not is_integral(input._xp, data.dtype):
        raise TypeError(f"target: nll_loss expects integer class labels, got {describe(data)}")
    rows, tgt, shape = _flatten_classes(input, target, "nll_loss")
    out = NLLFn.apply(rows, tgt.data if isinstance(tgt, Tensor) else tgt, w, reduction, ignore_index)
    return out.reshape(shape) if reduction == "none" and tuple(out.shape) != shape else out


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


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Mean squared error between ``input`` and ``target`` of the same shape."""
    _legacy("mse_loss", size_average, reduce)
    _check_reduction(reduction)
    input = as_tensor(input)
    target = input._coerce(target, "mse_loss") if not isinstance(target, Tensor) else target
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"target: expected shape {input.shape} to match input, got {tuple(target.shape)}")
    return MSEFn.apply(input, target, reduction)


__all__ = ["cross_entropy", "mse_loss", "nll_loss"]
