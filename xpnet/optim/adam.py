"""Adam (Kingma & Ba 2015) with L2 weight decay and AMSGrad; AdamW (Loshchilov & Hutter 2019)."""
from __future__ import annotations

import math

from .optimizer import Optimizer, check_flag, check_number, implementation_flags


def check_betas(owner, betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    return tuple(check_number(owner, f"betas[{i}]", b, 0.0, True, 1.0, False) for i, b in enumerate(betas))


def _tensor_hyper_rules(owner, lr, betas, foreach, capturable):
    """PyTorch's rules for 0-d tensor hyper-parameters (which xpnet reads once, as numbers)."""
    is_t = lambda v: getattr(v, "shape", None) is not None  # noqa: E731
    if is_t(lr) and foreach and not capturable:
        raise ValueError(f"{owner}: lr as a Tensor is not supported for capturable=False and foreach=True, got lr={lr!r}")
    if isinstance(betas, (tuple, list)) and len(betas) == 2:
        if is_t(betas[0]) != is_t(betas[1]):
            raise ValueError(f"{owner}: betas must be either both floats or both Tensors, got {betas!r}")
        if is_t(betas[0]) and foreach and not capturable:
            raise ValueError(f"{owner}: betas[0] as a Tensor is not supported for capturable=False and foreach=True")


class Adam(Optimizer):
    """PyTorch ``Adam`` (same positional order): g ← ±∇ + λW; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    W ← W − η/(1−β₁ᵗ) · m / (√v̂/√(1−β₂ᵗ) + ε), v̂ = v (or its running max with ``amsgrad``).
    ``decoupled_weight_decay=True`` is AdamW. ``foreach=False``: the per-parameter loop instead of flat
    buffers (:class:`~xpnet.optim.Optimizer`); ``fused``/``capturable`` are accepted and ignored."""

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused=None,
                 decoupled_weight_decay: bool = False):
        name = type(self).__name__
        implementation_flags(name, foreach, fused, differentiable, capturable)
        _tensor_hyper_rules(name, lr, betas, foreach, capturable)
        check_flag(name, "decoupled_weight_decay", decoupled_weight_decay)
        defaults = dict(lr=lr, betas=check_betas(name, betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        if not self._decoupled:  # AdamW is always decoupled and, as in PyTorch, takes no such argument
            defaults["decoupled_weight_decay"] = decoupled_weight_decay
        super().__init__(params, defaults, foreach=foreach)

    def _check(self, group):
        super()._check(group)
        name = type(self).__name__
        group["betas"] = check_betas(name, group["betas"])
        check_number(name, "eps", group["eps"], 0.0)
        check_number(name, "weight_decay", group["weight_decay"], 0.0)
        check_flag(name, "amsgrad", group["amsgrad"])

    def _update(self, xp, w, g, group, state):
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        b1, b2 = group["betas"]
        if group["maximize"]:
            g = -g
        if wd:
            if group.get("decoupled_weight_decay", self._decoupled):
                w *= 1.0 - lr * wd
            else:
                g = g + wd * w
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(w)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            vmax[...] = xp.maximum(vmax, v)
            v = vmax
        bc1 = 1.0 - b1**t
        bc2_sqrt = math.sqrt(1.0 - b2**t)
        denom = xp.sqrt(v) / bc2_sqrt + eps
        w -= (lr / bc1) * (m / denom)
        return w


class AdamW(Adam):
    """Adam with decoupled weight decay: W ← W(1 − ηλ) before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False, foreach=None,
                 capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused)
