"""Activation functions on Tensors (PyTorch ``torch.nn.functional`` names); the primitives with the
formulas are in :mod:`xpnet.autograd.ops_activation`.

>>> import xpnet as xn
>>> F = xn.nn.functional
>>> xn.to_numpy(F.relu(xn.tensor([-1.0, 2.0]))).tolist()
[0.0, 2.0]
>>> xn.to_numpy(F.leaky_relu(xn.tensor([-1.0, 2.0]), 0.5)).tolist()
[-0.5, 2.0]
"""
from __future__ import annotations

from ...autograd.engine import as_tensor
from ...autograd.ops_activation import GELUFn, LeakyReLUFn, LogSoftmaxFn, ReLUFn, SigmoidFn, SoftmaxFn, TanhFn

_APPROXIMATE = ("none", "tanh")


def check_approximate(owner: str, approximate):
    """GELU's ``approximate`` argument: ``'none'`` (exact, erf) or ``'tanh'``."""
    if approximate not in _APPROXIMATE:
        raise ValueError(f"{owner}: approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


def check_slope(owner: str, negative_slope) -> float:
    """LeakyReLU's ``negative_slope``: a real number, returned as a float."""
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
        raise TypeError(f"{owner}: negative_slope must be a number, got {negative_slope!r}")
    return float(negative_slope)


def relu(x):
    """max(x, 0) elementwise.

    Args:
        x: Tensor or array of any shape.
    """
    return ReLUFn.apply(as_tensor(x))


def leaky_relu(x, negative_slope: float = 0.01):
    """x if x > 0 else ``negative_slope``·x (PyTorch ``F.leaky_relu``)."""
    return LeakyReLUFn.apply(as_tensor(x), check_slope("leaky_relu", negative_slope))


def sigmoid(x):
    """σ(x) = 1/(1 + e^(−x)), overflow-safe for large |x|."""
    return SigmoidFn.apply(as_tensor(x))


def tanh(x):
    """tanh(x) elementwise."""
    return TanhFn.apply(as_tensor(x))


def gelu(x, approximate: str = "none"):
    """GELU (Hendrycks & Gimpel 2016; PyTorch ``F.gelu``): x·Φ(x), or the tanh approximation with
    ``approximate='tanh'``."""
    return GELUFn.apply(as_tensor(x), check_approximate("gelu", approximate))


def softmax(x, dim: int = -1):
    """e^(x_i) / Σ_j e^(x_j) along ``dim``."""
    return SoftmaxFn.apply(as_tensor(x), dim)


def log_softmax(x, dim: int = -1):
    """log softmax(x) along ``dim``, computed stably."""
    return LogSoftmaxFn.apply(as_tensor(x), dim)


__all__ = ["gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "softmax", "tanh"]
