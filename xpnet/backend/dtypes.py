"""The default floating dtype (float32 unless set)."""
from __future__ import annotations

_FLOATS = ("float32", "float64", "float16")
_default = "float32"


def set_default_dtype(dtype) -> None:
    """Set the default float dtype used for parameters and float data (``"float32"`` or ``"float64"``)."""
    global _default
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", str(dtype))
    name = name.rsplit(".", 1)[-1]
    if name not in _FLOATS:
        raise ValueError(f"set_default_dtype: expected one of {_FLOATS}, got {dtype!r}")
    _default = name


def get_default_dtype() -> str:
    return _default


def resolve_dtype(xp, dtype=None):
    """The dtype object of namespace ``xp`` for ``dtype`` (a name, a dtype, or None for the default float)."""
    if dtype is None:
        return getattr(xp, _default)
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
