"""Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay."""
from __future__ import annotations

from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch ``SGD``: g ← ∇ + λW; b ← μb + (1 − τ)g (b₁ = g); g ← g + μb (Nesterov) or b;
    W ← W − ηg. With τ = 0 this is report 000's v ← μv − η(∇ + λW), W ← W + v, scaled by η."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov: needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def _check(self, group):
        super()._check(group)
        if group["momentum"] < 0:
            raise ValueError(f"momentum: expected >= 0, got {group['momentum']}")
        if group["weight_decay"] < 0:
            raise ValueError(f"weight_decay: expected >= 0, got {group['weight_decay']}")

    def _update(self, p, g, group, state):
        wd, mu = group["weight_decay"], group["momentum"]
        if wd:
            g = g + wd * p.data
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = p._xp.asarray(g, copy=True)
            else:
                buf *= mu
                buf += g if not group["dampening"] else (1.0 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g
