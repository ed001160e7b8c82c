"""``Linear``: y = x Wᵀ + b."""
from __future__ import annotations

import math

from ...backend import get_backend, resolve_dtype
from .. import init as _init
from ..functional.linear import linear
from ..parameter import Parameter
from .module import Module


def check_device(owner, device):
    """PyTorch's ``device=`` factory argument: None (the active backend's device) or that same device."""
    if device is None:
        return
    b = get_backend()
    if str(device) != str(b.device) and not (b.device is None and str(device) == "cpu"):
        raise NotImplementedError(
            f"{owner}: device={device!r} differs from the active backend's device {b.device!r}; build the layer "
            "inside xn.use_backend(...) for that device, or call model.to(device) afterwards")


def float_dtype(owner, dtype):
    """The namespace dtype for ``dtype``, which must be a real floating type (parameters are trained)."""
    b = get_backend()
    dt = resolve_dtype(b.xp, dtype)
    if not b.xp.isdtype(dt, "real floating"):
        raise TypeError(f"{owner}: dtype must be a floating-point type (float32 or float64), got {dtype!r}")
    return dt


def empty_parameter(shape, dtype=None, owner="layer") -> Parameter:
    """An uninitialised Parameter of ``shape`` on the active backend and default float dtype."""
    b = get_backend()
    return Parameter(b.xp.empty(tuple(shape), dtype=float_dtype(owner, dtype), device=b.device))


def positive_int(owner, name, v, allow_zero=False):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{owner}: {name} must be a {'non-negative' if allow_zero else 'positive'} int, got {v!r}")
    return v


def check_bool(owner, name, v):
    if not isinstance(v, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {v!r} ({type(v).__name__})")
    return v


class Linear(Module):
    """Affine layer y = x Wᵀ + b, weight (out, in) (PyTorch ``nn.Linear``). Default init as PyTorch:
    W, b ~ U(−1/√in, 1/√in) (kaiming_uniform with a = √5). ``init="xavier_normal"`` (any name of
    ``xn.nn.init``) initialises W that way and b to zero.

    Args:
        in_features: size of each input row.
        out_features: size of each output row.
        bias: learn an additive bias (default True).

    Shape: (*, in_features) → (*, out_features).

    >>> import xpnet as xn
    >>> xn.nn.Linear(4, 3)(xn.tensor([[1.0, 2.0, 3.0, 4.0]])).shape
    (1, 3)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None, *, init=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {v!r}")
        check_bool("Linear", "bias", bias)
        check_device("Linear", device)
        self.in_features, self.out_features = in_features, out_features
        self.init = init
        self.weight = empty_parameter((out_features, in_features), dtype, "Linear")
        self.bias = empty_parameter((out_features,), dtype, "Linear") if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.init is None:
            _init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                bound = 1.0 / math.sqrt(self.in_features)
                _init.uniform_(self.bias, -bound, bound)
            return
        _init.by_name(self.init)(self.weight)
        if self.bias is not None:
            _init.zeros_(self.bias)

    def forward(self, input):
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        init = f", init={self.init!r}" if self.init else ""
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}{init}"


__all__ = ["Linear"]
