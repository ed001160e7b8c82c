"""``ArrayDataset``: features and labels moved to the device once, validated once."""
from __future__ import annotations

from ..backend import asarray, backend_of, describe, get_backend, get_default_dtype, on_host_check, resolve_dtype, to_device
from ..backend import check_numeric as _numeric


class ArrayDataset:
    """Features ``X`` (N, ...) and optional labels ``y`` (N,) on the active backend (or ``backend``).

    Float features become the default float dtype; labels of shape (N, 1) are flattened; integer
    labels are class indices, float targets (N,) or (N, K) are regression targets (cast to the
    default float dtype); NaN or inf features or targets and negative labels
    (or labels ≥ ``num_classes``) are refused. Checks run once, here, not per batch.

    Args:
        X: features (N, features...), any array or nested list.
        y: integer class labels (N,) / (N, 1), float regression targets (N,) / (N, K), or None.
        backend: the backend to hold the arrays on (default: the active one).
        num_classes: when given, labels ≥ ``num_classes`` are refused too.

    ``ds[i]`` is ``(X[i], y[i])`` (or ``X[i]`` without labels); ``len(ds)`` is N; ``ds.to(target)``
    moves both arrays (as ``xn.to_device``).

    >>> import xpnet as xn
    >>> ds = xn.data.ArrayDataset([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0, 1, 1])
    >>> len(ds), ds.num_features, ds.X.dtype, ds.y.dtype
    (3, 2, dtype('float32'), dtype('int64'))
    >>> xn.data.ArrayDataset([[1.0], [2.0]], [0, 3], num_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: y: ...
    """

    def __init__(self, X, y=None, backend=None, num_classes=None):
        b = get_backend() if backend is None else backend
        X = asarray(_numeric(X, "X"), backend=b)
        if X.ndim < 2:
            raise ValueError(f"X: expected shape (N, features...), got {describe(X)}")
        on_host_check(X, "X")
        if y is not None:
            y = asarray(_numeric(y, "y"), backend=b)
            if y.ndim == 2 and y.shape[1] == 1:
                y = b.xp.reshape(y, (-1,))
            if b.xp.isdtype(y.dtype, "real floating"):  # regression targets: (N,) or (N, K)
                if y.ndim not in (1, 2):
                    raise ValueError(f"y: expected regression targets of shape (N,) or (N, K), got {describe(y)}")
                y = b.xp.astype(y, resolve_dtype(b.xp, get_default_dtype()))
            elif y.ndim != 1:
                raise ValueError(f"y: expected labels of shape (N,) or (N, 1), got {describe(y)}")
            elif not b.xp.isdtype(y.dtype, "integral"):
                raise TypeError(f"y: expected integer class labels or float regression targets, got {describe(y)}")
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"y: expected {X.shape[0]} labels to match X, got {describe(y)}")
            if b.xp.isdtype(y.dtype, "integral") and y.dtype != b.xp.int64:  # uint8/int8/int32/uint32 labels: one label dtype for every loss
                y = b.xp.astype(y, b.xp.int64)
            on_host_check(y, "y", num_classes=num_classes)
        self.X, self.y = X, y
        self.backend = backend_of(X)

    def __len__(self) -> int:
        return self.X.shape[0]

    def __getitem__(self, index):
        return (self.X[index, ...], self.y[index, ...]) if self.y is not None else self.X[index, ...]

    @property
    def num_features(self) -> int:
        return self.X.shape[1]

    def to(self, target) -> "ArrayDataset":
        self.X = to_device(self.X, target)
        self.y = None if self.y is None else to_device(self.y, target)
        self.backend = backend_of(self.X)
        return self
