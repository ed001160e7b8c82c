"""Dropout layer."""
from __future__ import annotations

from .. import functional as F
from ..functional.chain import Stage
from ..functional.dropout import DropoutFn
from .module import Module


class Dropout(Module):
    """Inverted dropout with probability ``p`` in training; identity in eval. ``generator``: an
    ``xn.Generator`` for the masks (default: this thread's stream of the backend)."""

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p (dropout probability) must be a number in [0, 1], got {p!r}")
        self.p, self.inplace = float(p), inplace  # inplace: PyTorch's memory option, same result
        if generator is not None and not hasattr(generator, "native"):
            raise TypeError(f"Dropout: generator: expected an xn.Generator or None, got {type(generator).__name__}")
        self.generator = generator

    def forward(self, input):
        x = input
        if not self.training or self.p == 0.0:
            return x
        return DropoutFn.apply(x, self._mask(x))

    def _stage(self):
        if not self.training or self.p == 0.0:
            return None
        return Stage(DropoutFn, (), lambda data: (self._mask(data),))

    def _mask(self, x):
        if self.generator is None:
            return F.dropout_mask(x, self.p)
        return F.dropout_mask(x, self.p, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(Module):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p`` (PyTorch ``nn.Dropout1d``)."""

    _spatial = 1

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p (dropout probability) must be a number in [0, 1], got {p!r}")
        self.p, self.inplace = float(p), inplace

    def forward(self, input):
        return F.feature_dropout(input, self.p, self.training, self._spatial, type(self).__name__)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout1d):
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability ``p`` (PyTorch
    ``nn.Dropout2d``)."""

    _spatial = 2
