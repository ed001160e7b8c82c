"""Activation layers (formulas in :mod:`xpnet.nn.functional.activation`)."""
from __future__ import annotations

from .. import functional as F
from ...autograd.ops_elementwise import Tanh as TanhFn
from ..functional.activation import GELUFn, LeakyReLUFn, ReLUFn, SigmoidFn
from ..functional.chain import Stage

_NO_ARGS = lambda data: ()  # noqa: E731
from .module import Module


class Identity(Module):
    def forward(self, input):
        x = input
        return x


class ReLU(Module):
    """max(x, 0). ``inplace`` (PyTorch's memory option) is accepted; the result is the same."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        x = input
        return ReLUFn.apply(x)

    def _stage(self):
        return Stage(ReLUFn, (), _NO_ARGS)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"LeakyReLU: negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope, self.inplace = float(negative_slope), inplace

    def forward(self, input):
        x = input
        return LeakyReLUFn.apply(x, self.negative_slope)

    def _stage(self):
        return Stage(LeakyReLUFn, (), lambda data: (self.negative_slope,))

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    def forward(self, input):
        x = input
        return SigmoidFn.apply(x)

    def _stage(self):
        return Stage(SigmoidFn, (), _NO_ARGS)


class Tanh(Module):
    def forward(self, input):
        x = input
        return TanhFn.apply(x)

    def _stage(self):
        return Stage(TanhFn, (), _NO_ARGS)


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        x = input
        return GELUFn.apply(x, self.approximate)

    def _stage(self):
        return Stage(GELUFn, (), lambda data: (self.approximate,))

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        x = input
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input):
        x = input
        return F.log_softmax(x, self.dim)
