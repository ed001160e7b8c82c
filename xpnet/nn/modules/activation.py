"""Activation layers: each ``forward`` calls its functional op in :mod:`xpnet.nn.functional.activation`
(formulas in :mod:`xpnet.autograd.ops_activation`).

>>> import xpnet as xn
>>> xn.to_numpy(xn.nn.ReLU()(xn.tensor([-1.0, 2.0]))).tolist()
[0.0, 2.0]
"""
from __future__ import annotations

from ..functional import activation as F
from .module import Module


class Identity(Module):
    """y = x."""

    def forward(self, input):
        return input


class ReLU(Module):
    """max(x, 0). ``inplace`` (PyTorch's memory option) is accepted; the result is the same.

    Shape: any; the output has the input's shape (as every activation here).
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(Module):
    """x if x > 0 else ``negative_slope``·x (PyTorch ``nn.LeakyReLU``)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = F.check_slope("LeakyReLU", negative_slope), inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """σ(x) = 1/(1 + e^(−x))."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input):
        return F.tanh(input)


class GELU(Module):
    """GELU (Hendrycks & Gimpel 2016; PyTorch ``nn.GELU``): x·Φ(x); ``approximate='tanh'`` uses
    ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = F.check_approximate("GELU", approximate)

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim``."""

    def forward(self, input):
        return F.log_softmax(input, self.dim)


__all__ = ["GELU", "Identity", "LeakyReLU", "LogSoftmax", "ReLU", "Sigmoid", "Softmax", "Tanh"]
