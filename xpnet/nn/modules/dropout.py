"""Dropout layer."""
from __future__ import annotations

from ..functional.dropout import check_p, dropout, feature_dropout
from .module import Module


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014; PyTorch ``nn.Dropout``): in training each element is
    zeroed with probability ``p`` and the rest scaled by 1/(1−p); identity in eval.

    Args:
        p: dropout probability in [0, 1].
        generator: an ``xn.Generator`` for the masks (default: this thread's stream of the backend).

    Shape: any; the output has the input's shape.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None):
        super().__init__()
        self.p, self.inplace = check_p("Dropout", p), inplace  # inplace: PyTorch's memory option, same result
        if generator is not None and not hasattr(generator, "native"):
            raise TypeError(f"Dropout: generator: expected an xn.Generator or None, got {type(generator).__name__}")
        self.generator = generator

    def forward(self, input):
        return dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(Module):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p`` (PyTorch ``nn.Dropout1d``)."""

    _spatial = 1

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p, self.inplace = check_p(type(self).__name__, p), inplace

    def forward(self, input):
        return feature_dropout(input, self.p, self.training, self._spatial, type(self).__name__)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout1d):
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability ``p`` (PyTorch
    ``nn.Dropout2d``)."""

    _spatial = 2


__all__ = ["Dropout", "Dropout1d", "Dropout2d"]
