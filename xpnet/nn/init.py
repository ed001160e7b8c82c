"""Weight initialisers with PyTorch's fan and gain conventions (``torch.nn.init``).

Each fills a Parameter (or raw array) in place from the backend generator and returns it.
fan_in = in_features × receptive field, fan_out = out_features × receptive field.
"""
from __future__ import annotations

import math

from ..autograd import no_grad
from ..autograd.engine import data_of
from ..backend import backend_of
from ..backend.random import normal, uniform


def calculate_gain(nonlinearity: str, param=None) -> float:
    """Recommended gain for a nonlinearity (PyTorch ``calculate_gain``): linear/sigmoid 1, tanh 5/3,
    relu √2, leaky_relu √(2/(1+a²)), selu 3/4, gelu 1."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "sigmoid", "identity", "gelu")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"nonlinearity: unsupported {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(shape):
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dimensions, got shape {tuple(shape)}")
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fill(t, values):
    data = data_of(t)
    with no_grad():
        data[...] = values
    return t


def _draw(t, kind, a, b):
    data = data_of(t)
    bk = backend_of(data)
    if kind == "normal":
        values = normal(data.shape, mean=a, std=b, dtype=data.dtype, backend=bk)
    else:
        values = uniform(data.shape, low=a, high=b, dtype=data.dtype, backend=bk)
    return _fill(t, values)


def uniform_(t, a: float = 0.0, b: float = 1.0):
    """Fill with U(a, b)."""
    return _draw(t, "uniform", a, b)


def normal_(t, mean: float = 0.0, std: float = 1.0):
    """Fill with N(mean, std²)."""
    return _draw(t, "normal", mean, std)


def constant_(t, value: float):
    """Fill with ``value``."""
    return _fill(t, value)


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def _shape(t):
    return tuple(data_of(t).shape)


def xavier_uniform_(t, gain: float = 1.0):
    """Glorot & Bengio (2010): U(−a, a), a = gain·√(6/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape(t))
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a)


def xavier_normal_(t, gain: float = 1.0):
    """Glorot & Bengio (2010): N(0, std²), std = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape(t))
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(t, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape(t))
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """He et al. (2015), "Delving Deep into Rectifiers"; PyTorch ``nn.init.kaiming_uniform_``:
    U(−b, b), b = gain·√(3/fan)."""
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound)


def kaiming_normal_(t, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """He et al. (2015): N(0, std²), std = gain/√fan."""
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity))


INITIALISERS = {
    "kaiming_normal": kaiming_normal_,
    "kaiming_uniform": kaiming_uniform_,
    "xavier_normal": xavier_normal_,
    "xavier_uniform": xavier_uniform_,
    "normal": normal_,
    "uniform": uniform_,
    "zeros": zeros_,
    "ones": ones_,
}


def by_name(name):
    """The initialiser for ``name`` (``"xavier_normal"`` or ``"xavier_normal_"``), or a callable as is."""
    if callable(name):
        return name
    key = str(name).rstrip("_")
    if key not in INITIALISERS:
        raise ValueError(f"init: expected one of {sorted(INITIALISERS)}, got {name!r}")
    return INITIALISERS[key]
