"""Adagrad (Duchi, Hazan & Singer 2011), PyTorch semantics."""
from __future__ import annotations

from .optimizer import Optimizer, check_number, implementation_flags


class Adagrad(Optimizer):
    """PyTorch ``Adagrad`` (same positional order): g ← ±∇ + λW; η_t = η/(1 + (t−1)·lr_decay);
    s ← s + g² (s₀ = ``initial_accumulator_value``); W ← W − η_t g/(√s + ε)."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None):
        implementation_flags("Adagrad", foreach, fused, differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize), foreach=foreach)

    def _check(self, group):
        super()._check(group)
        check_number("Adagrad", "lr_decay", group["lr_decay"], 0.0)
        check_number("Adagrad", "weight_decay", group["weight_decay"], 0.0)
        check_number("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"], 0.0)
        check_number("Adagrad", "eps", group["eps"], 0.0)

    def _update(self, xp, w, g, group, state):
        if group["maximize"]:
            g = -g
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(w, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * w
        clr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        w -= clr * (g / (xp.sqrt(s) + group["eps"]))
        return w
