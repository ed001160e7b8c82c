"""Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay."""
from __future__ import annotations

from .optimizer import Optimizer, check_flag, check_number, implementation_flags


class SGD(Optimizer):
    """PyTorch ``SGD`` (same positional order): g ← ±∇ + λW (− with ``maximize``);
    b ← μb + (1 − τ)g (b₁ = g); g ← g + μb (Nesterov) or b; W ← W − ηg.
    With τ = 0 this is the classical momentum v ← μv − η(∇ + λW), W ← W + v (Sutskever et al. 2013,
    "On the importance of initialization and momentum"), scaled by η. Source: the PyTorch ``torch.optim.SGD`` doc.
    Storage: see :class:`~xpnet.optim.Optimizer` (flat buffers; ``foreach=False`` the per-parameter loop);
    ``fused`` is accepted and ignored."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False, foreach=None,
                 differentiable: bool = False, fused=None):
        implementation_flags("SGD", foreach, fused, differentiable)
        check_flag("SGD", "nesterov", nesterov)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum={momentum!r}, "
                             f"dampening={dampening!r}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize), foreach=foreach)

    def _check(self, group):
        super()._check(group)
        check_number("SGD", "momentum", group["momentum"], 0.0)
        check_number("SGD", "dampening", group["dampening"])
        check_number("SGD", "weight_decay", group["weight_decay"], 0.0)

    def _update(self, xp, w, g, group, state):
        wd, mu = group["weight_decay"], group["momentum"]
        if group["maximize"]:
            g = -g
        if wd:
            g = g + wd * w
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.asarray(g, copy=True)
            else:
                buf *= mu
                buf += g if not group["dampening"] else (1.0 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        w -= group["lr"] * g
        return w
