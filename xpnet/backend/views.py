"""Which namespaces guarantee that slicing and reshaping a contiguous array give views."""
from __future__ import annotations

from .registry import namespace_name

_VIEW_SAFE = {"numpy", "cupy", "torch"}


def supports_views(xp) -> bool:
    """True where basic slices and reshapes of a contiguous array share its memory, so in-place
    updates of the whole array reach every view (NumPy, CuPy, PyTorch; not guaranteed by the
    Array API standard, hence False for other namespaces)."""
    return namespace_name(xp) in _VIEW_SAFE
