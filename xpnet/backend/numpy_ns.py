"""The namespace xpnet uses for NumPy arrays: ``array_api_compat.numpy`` with faster reductions.

``numpy.sum``/``mean``/``max`` pass through Python-level dispatch that costs about 1.5–3 µs per
call, which adds up at the small batch sizes these networks train on (about twenty reductions per
step). Here they call the ufunc reductions directly; every other name is ``array_api_compat.numpy``'s.
Results are identical (same ufunc loops).
"""
from __future__ import annotations

import math
import types

import array_api_compat.numpy as _compat
import numpy as _np

_add_reduce = _np.add.reduce
_max_reduce = _np.maximum.reduce
_min_reduce = _np.minimum.reduce


def _axes(x, axis):
    return tuple(range(x.ndim)) if axis is None else axis


def sum(x, /, *, axis=None, dtype=None, keepdims=False):  # noqa: A001 - Array API name
    if dtype is None and x.dtype.kind in "biu":
        return _compat.sum(x, axis=axis, keepdims=keepdims)  # integer promotion rules of the standard
    return _add_reduce(x, axis=_axes(x, axis), dtype=dtype, keepdims=keepdims)


def mean(x, /, *, axis=None, keepdims=False):
    if x.dtype.kind not in "fc":
        return _compat.mean(x, axis=axis, keepdims=keepdims)
    axes = _axes(x, axis)
    n = math.prod(x.shape[a] for a in ((axes,) if isinstance(axes, int) else axes))
    out = _add_reduce(x, axis=axes, keepdims=keepdims)
    return out / n if n else out * _np.nan


def max(x, /, *, axis=None, keepdims=False):  # noqa: A001
    return _max_reduce(x, axis=_axes(x, axis), keepdims=keepdims)


def min(x, /, *, axis=None, keepdims=False):  # noqa: A001
    return _min_reduce(x, axis=_axes(x, axis), keepdims=keepdims)


class _Namespace(types.ModuleType):
    def __getattr__(self, name):
        value = getattr(_compat, name)
        setattr(self, name, value)  # cache: the next lookup is a plain attribute read
        return value


namespace = _Namespace("array_api_compat.numpy")
namespace.__doc__ = __doc__
for _name in ("sum", "mean", "max", "min"):
    setattr(namespace, _name, globals()[_name])
namespace.__array_api_version__ = _compat.__array_api_version__
