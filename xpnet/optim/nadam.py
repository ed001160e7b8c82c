"""NAdam: Adam with Nesterov momentum (Dozat 2016), PyTorch semantics incl. momentum decay."""
from __future__ import annotations

import math

from .adam import check_betas
from .optimizer import Optimizer, check_flag, check_number, implementation_flags


class NAdam(Optimizer):
    """PyTorch ``NAdam`` (same positional order): g ← ±∇ + λW (or W ← W(1 − ηλ) when decoupled);
    μₜ = β₁(1 − ½·0.96^(t·ψ)), Πₜ = Π μ₁..μₜ; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    d = √(v/(1−β₂ᵗ)) + ε; W ← W − η(1−μₜ)/(1−Πₜ)·g/d − ημₜ₊₁/(1−Πₜμₜ₊₁)·m/d (ψ = momentum_decay)."""

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        implementation_flags("NAdam", foreach, None, differentiable, capturable)
        check_flag("NAdam", "decoupled_weight_decay", decoupled_weight_decay)
        super().__init__(params, dict(lr=lr, betas=check_betas("NAdam", betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize), foreach=foreach)

    def _check(self, group):
        super()._check(group)
        group["betas"] = check_betas("NAdam", group["betas"])
        check_number("NAdam", "eps", group["eps"], 0.0)
        check_number("NAdam", "weight_decay", group["weight_decay"], 0.0)
        check_number("NAdam", "momentum_decay", group["momentum_decay"], 0.0)

    def _update(self, xp, w, g, group, state):
        lr, wd, eps, psi = group["lr"], group["weight_decay"], group["eps"], group["momentum_decay"]
        b1, b2 = group["betas"]
        if group["maximize"]:
            g = -g
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
        state["step"] += 1
        t = state["step"]
        if wd:
            if group["decoupled_weight_decay"]:
                w *= 1.0 - lr * wd
            else:
                g = g + wd * w
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        prod = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        denom = xp.sqrt(v) / math.sqrt(1.0 - b2**t) + eps
        w -= (lr * (1.0 - mu) / (1.0 - prod)) * (g / denom)
        w -= (lr * mu_next / (1.0 - prod * mu_next)) * (m / denom)
        return w
