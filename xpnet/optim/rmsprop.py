"""RMSprop (Hinton, Coursera lecture 6e, 2012; centred form of Graves 2013), PyTorch semantics."""
from __future__ import annotations

from .optimizer import Optimizer, check_flag, check_number, implementation_flags


class RMSprop(Optimizer):
    """PyTorch ``RMSprop`` (same positional order): g ← ±∇ + λW; v ← αv + (1−α)g²;
    centred: ḡ ← αḡ + (1−α)g, d = √(v − ḡ²) + ε, else d = √v + ε;
    momentum μ > 0: b ← μb + g/d, W ← W − ηb; otherwise W ← W − η g/d."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False):
        implementation_flags("RMSprop", foreach, None, differentiable, capturable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize), foreach=foreach)

    def _check(self, group):
        super()._check(group)
        check_number("RMSprop", "alpha", group["alpha"], 0.0)
        check_number("RMSprop", "eps", group["eps"], 0.0)
        check_number("RMSprop", "weight_decay", group["weight_decay"], 0.0)
        check_number("RMSprop", "momentum", group["momentum"], 0.0)
        check_flag("RMSprop", "centered", group["centered"])

    def _update(self, xp, w, g, group, state):
        alpha, eps, wd, mu = group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        if group["maximize"]:
            g = -g
        if wd:
            g = g + wd * w
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(w)
            if mu > 0:
                state["momentum_buffer"] = xp.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(w)
        state["step"] += 1
        v = state["square_avg"]
        v *= alpha
        v += (1.0 - alpha) * (g * g)
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= alpha
            ga += (1.0 - alpha) * g
            avg = xp.sqrt(v - ga * ga) + eps
        else:
            avg = xp.sqrt(v) + eps
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += g / avg
            w -= group["lr"] * buf
        else:
            w -= group["lr"] * (g / avg)
        return w
