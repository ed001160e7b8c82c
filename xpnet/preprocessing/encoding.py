"""Label encoding."""
from __future__ import annotations

from ..backend import asarray, describe, get_default_dtype, namespace_of, resolve_dtype
from ..backend.special import one_hot as _one_hot


def one_hot(labels, num_classes: int | None = None, dtype=None):
    """Rows e_{y_i} (report 001 §2.1.3): shape (N, num_classes), default float dtype.
    ``num_classes`` defaults to max(label) + 1 (one host read)."""
    labels = asarray(labels) if not hasattr(labels, "__array_namespace__") else labels
    xp = namespace_of(labels)
    if not xp.isdtype(labels.dtype, "integral"):
        raise TypeError(f"labels: expected integer class labels, got {describe(labels)}")
    if num_classes is None:
        num_classes = int(xp.max(labels)) + 1
    return _one_hot(xp, labels, num_classes, resolve_dtype(xp, dtype or get_default_dtype()))
