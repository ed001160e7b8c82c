"""Adam (Kingma & Ba 2015) with L2 weight decay and AMSGrad; AdamW (Loshchilov & Hutter 2019)."""
from __future__ import annotations

import math

from .optimizer import Optimizer


class Adam(Optimizer):
    """PyTorch ``Adam``: g ← ∇ + λW; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    W ← W − η/(1−β₁ᵗ) · m / (√v̂/√(1−β₂ᵗ) + ε), v̂ = v (or its running max with ``amsgrad``)."""

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _check(self, group):
        super()._check(group)
        b1, b2 = group["betas"]
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas: expected values in [0, 1), got {group['betas']}")
        if group["eps"] < 0 or group["weight_decay"] < 0:
            raise ValueError("eps and weight_decay must be >= 0")

    def _update(self, p, g, group, state):
        xp = p._xp
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        b1, b2 = group["betas"]
        if wd:
            if self._decoupled:
                p.data *= 1.0 - lr * wd
            else:
                g = g + wd * p.data
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
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
        p.data -= (lr / bc1) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: W ← W(1 − ηλ) before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
