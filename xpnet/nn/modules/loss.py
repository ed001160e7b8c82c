"""Loss layers."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class CrossEntropyLoss(Module):
    """Softmax cross-entropy on logits; integer labels (N,) or probabilities (N, C) as target."""

    def __init__(self, label_smoothing: float = 0.0, reduction: str = "mean"):
        super().__init__()
        self.label_smoothing, self.reduction = float(label_smoothing), reduction

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.label_smoothing, self.reduction)

    def extra_repr(self) -> str:
        return f"label_smoothing={self.label_smoothing}, reduction={self.reduction!r}"


class NLLLoss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, self.reduction)


class MSELoss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)
