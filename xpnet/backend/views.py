"""Which namespaces guarantee that slicing and reshaping a contiguous array give views."""
from __future__ import annotations

from .registry import backend_for


def supports_views(xp) -> bool:
    """True where basic slices and reshapes of a contiguous array share its memory, so in-place
    updates of the whole array reach every view (the backend's ``supports_views``: NumPy, CuPy,
    PyTorch; not guaranteed by the Array API standard, hence False for other namespaces)."""
    return backend_for(xp).supports_views
