"""Label encoding."""
from __future__ import annotations

import math

from ..backend import asarray, describe, get_default_dtype, namespace_of, resolve_dtype
from ..backend.ops import one_hot as _one_hot


def one_hot(labels, num_classes: int | None = None, dtype=None):
    """One-hot rows e_{y_i} (as PyTorch's ``torch.nn.functional.one_hot``, but in the default float dtype).

    Args:
        labels: integer class labels, shape (N,) (any shape: a trailing class axis is added).
        num_classes: number of columns; defaults to max(label) + 1 (one host read).
        dtype: output dtype (default: the default float dtype, float32).

    Shape:
        (N,) → (N, num_classes).

    >>> import xpnet as xn
    >>> print(xn.to_numpy(xn.preprocessing.one_hot(xn.asarray([0, 2, 1]))))
    [[1. 0. 0.]
     [0. 0. 1.]
     [0. 1. 0.]]
    """
    from ..backend import check_numeric as _numeric

    labels = _numeric(labels, "one_hot: labels")
    labels = asarray(labels) if not hasattr(labels, "__array_namespace__") else labels
    xp = namespace_of(labels)
    if not xp.isdtype(labels.dtype, "integral"):
        raise TypeError(f"one_hot: labels: expected integer class labels, got {describe(labels)}")
    if num_classes is not None and (not isinstance(num_classes, int) or isinstance(num_classes, bool)
                                    or num_classes < 1):
        raise ValueError(f"one_hot: num_classes: expected an int >= 1 or None, got {num_classes!r}")
    if math.prod(labels.shape) == 0 and num_classes is None:
        raise ValueError("one_hot: num_classes: needed for empty labels (it cannot be inferred)")
    if math.prod(labels.shape):
        lo, hi = int(xp.min(labels)), int(xp.max(labels))
        if num_classes is None:
            num_classes = hi + 1
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"one_hot: labels: expected values in 0..{num_classes - 1}, got values in {lo}..{hi}")
    return _one_hot(xp, labels, num_classes, resolve_dtype(xp, dtype or get_default_dtype()))
