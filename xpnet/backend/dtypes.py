"""The default floating dtype (float32 unless set): a process default set from the main thread,
and a per-thread value set in any other thread (as ``manual_seed``; ``use_backend`` is per thread too)."""
from __future__ import annotations

from ..options import get_option, set_config

_FLOATS = ("float32", "float64", "float16")


def set_default_dtype(dtype) -> None:
    """Set the default float dtype used for parameters and float data (``"float32"`` or ``"float64"``).

    In the main thread this sets the process default (what every thread uses unless it sets its own);
    in another thread it sets that thread's default only. Same as ``xn.set_config(default_dtype=...)``."""
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", str(dtype))
    name = name.rsplit(".", 1)[-1]
    if name not in _FLOATS:
        raise ValueError(f"set_default_dtype: expected one of {_FLOATS}, got {dtype!r}")
    set_config(default_dtype=name)


def get_default_dtype() -> str:
    return get_option("default_dtype")


def resolve_dtype(xp, dtype=None):
    """The dtype object of namespace ``xp`` for ``dtype`` (a name, a dtype, or None for the default float)."""
    if dtype is None:
        return getattr(xp, get_option("default_dtype"))
    if isinstance(dtype, str):
        try:
            return getattr(xp, dtype)
        except AttributeError:
            raise ValueError(f"dtype: {dtype!r} is not a dtype of {xp.__name__}") from None
    return dtype


def dtype_name(dtype) -> str:
    """``"float32"`` for any spelling: a name, a NumPy/CuPy/torch/strict dtype or scalar type."""
    if isinstance(dtype, str):
        return dtype
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name
    return str(dtype).rsplit(".", 1)[-1].strip("'>")


_INTEGRAL: dict = {}


def is_integral(xp, dtype) -> bool:
    """``xp.isdtype(dtype, "integral")``, memoised (NumPy's isdtype costs microseconds per call)."""
    key = (id(xp), dtype)
    r = _INTEGRAL.get(key)
    if r is None:
        r = _INTEGRAL[key] = bool(xp.isdtype(dtype, "integral"))
    return r
