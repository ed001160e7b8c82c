"""Loss layers (PyTorch ``nn`` signatures: ``weight`` first, then the deprecated ``size_average``)."""
from __future__ import annotations

from ...autograd.engine import data_of
from .. import functional as F
from ..functional.loss import _check_reduction, _legacy
from .module import Module


def _check_smoothing(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
        raise ValueError(f"CrossEntropyLoss: label_smoothing must be a number in [0, 1], got {v!r}")
    return float(v)


class _WeightedLoss(Module):
    def __init__(self, name, weight, size_average, ignore_index, reduce, reduction):
        super().__init__()
        _legacy(name, size_average, reduce)
        _check_reduction(reduction)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise TypeError(f"{name}: ignore_index must be an int, got {ignore_index!r}")
        self.register_buffer("weight", None if weight is None else data_of(weight))
        self.ignore_index, self.reduction = ignore_index, reduction


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy on logits (PyTorch ``nn.CrossEntropyLoss``): integer labels or class
    probabilities; class ``weight``, ``ignore_index``, ``label_smoothing``, K-dimensional and unbatched
    inputs. See :func:`xpnet.nn.functional.cross_entropy` for the formulas."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__("CrossEntropyLoss", weight, size_average, ignore_index, reduce, reduction)
        self.label_smoothing = _check_smoothing(label_smoothing)

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return f"label_smoothing={self.label_smoothing}, reduction={self.reduction!r}"


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (PyTorch ``nn.NLLLoss``)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__("NLLLoss", weight, size_average, ignore_index, reduce, reduction)

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        _legacy("MSELoss", size_average, reduce)
        _check_reduction(reduction)
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


__all__ = ["CrossEntropyLoss", "MSELoss", "NLLLoss"]
