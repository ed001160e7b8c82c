"""``ArrayDataset``: features and labels moved to the device once, validated once."""
from __future__ import annotations

from ..backend import asarray, backend_of, describe, get_backend, on_host_check, to_device
from ..backend import check_numeric as _numeric


class ArrayDataset:
    """Features ``X`` (N, ...) and optional labels ``y`` (N,) on the active backend (or ``backend``).

    Float features become the default float dtype; labels of shape (N, 1) are flattened and must be
    integers (float labels are refused with a clear error); NaN or inf features and negative labels
    (or labels ≥ ``num_classes``) are refused. Checks run once, here, not per batch.
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
            if y.ndim != 1:
                raise ValueError(f"y: expected labels of shape (N,) or (N, 1), got {describe(y)}")
            if not b.xp.isdtype(y.dtype, "integral"):
                raise TypeError(f"y: expected integer class labels, got {describe(y)}; convert with y.astype(int)")
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"y: expected {X.shape[0]} labels to match X, got {describe(y)}")
            on_host_check(y, "y", num_classes=num_classes)
            if y.dtype != b.xp.int64:  # uint8/int8/int32/uint32 labels: one label dtype for every loss
                y = b.xp.astype(y, b.xp.int64)
        self.X, self.y = X, y
        self.backend = backend_of(X)

    def __len__(self) -> int:
        return self.X.shape[0]

    def __getitem__(self, index):
        return (self.X[index, ...], self.y[index]) if self.y is not None else self.X[index, ...]

    @property
    def num_features(self) -> int:
        return self.X.shape[1]

    def to(self, target) -> "ArrayDataset":
        self.X = to_device(self.X, target)
        self.y = None if self.y is None else to_device(self.y, target)
        self.backend = backend_of(self.X)
        return self
