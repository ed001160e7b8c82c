"""Random train/test split on the device, optionally stratified by class."""
from __future__ import annotations

import math

from ..backend import asarray, backend_of, describe, namespace_of
from ..backend.random import make_generator, permutation, uniform


def _stratified_order(xp, b, y, n, test_size, gen):
    """Row indices (test, train) keeping each class's share: rows ordered by (class, random key);
    a row is test if its rank within its class is below round(test_size × class count). Both parts are
    returned in the rows' original order (not grouped by class), so ``shuffle=False`` training still
    sees the classes interleaved as they were."""
    key = xp.astype(y, xp.float64) + 0.5 * uniform((n,), dtype="float64", backend=b, gen=gen)
    order = xp.argsort(key)
    y_sorted = xp.take(y, order, axis=0)
    classes = xp.arange(int(xp.max(y)) + 1, dtype=y.dtype, device=b.device)
    counts = xp.sum(xp.astype(xp.expand_dims(y, axis=1) == classes, xp.int64), axis=0)
    starts = xp.cumulative_sum(counts) - counts
    rank = xp.arange(n, dtype=xp.int64, device=b.device) - xp.take(starts, y_sorted, axis=0)
    n_test = xp.round(xp.astype(counts, xp.float64) * test_size)
    is_test = xp.astype(rank, xp.float64) < xp.take(n_test, y_sorted, axis=0)
    return (xp.sort(xp.take(order, xp.nonzero(is_test)[0], axis=0)),
            xp.sort(xp.take(order, xp.nonzero(~is_test)[0], axis=0)))


def train_test_split(X, y=None, test_size: float = 0.25, seed=None, stratify: bool = False):
    """Split rows into train and test parts (scikit-learn ``train_test_split``): returns
    ``X_train, X_test[, y_train, y_test]``. ``stratify`` keeps each class's share in both parts.

    Args:
        X: features (N, ...); y: labels (N,) or None.
        test_size: fraction of the rows in the test part, in (0, 1) (rounded up without ``stratify``;
            per class, to the nearest row, with it).
        seed: an int for a reproducible split (default: the backend's global stream).
        stratify: keep each class's share (needs integer labels ``y``); each part keeps the rows'
            original order.

    >>> import xpnet as xn
    >>> X, y = xn.asarray([[float(i)] for i in range(8)]), xn.asarray([0, 0, 0, 0, 1, 1, 1, 1])
    >>> X_train, X_test, y_train, y_test = xn.preprocessing.train_test_split(X, y, 0.5, seed=0, stratify=True)
    >>> X_train.shape, X_test.shape, xn.to_numpy(y_test).tolist()
    ((4, 1), (4, 1), [0, 0, 1, 1])
    """
    X = asarray(X) if not hasattr(X, "__array_namespace__") else X
    xp, b = namespace_of(X), backend_of(X)
    n = X.shape[0]
    if not (0.0 < test_size < 1.0):
        raise ValueError(f"test_size: expected a fraction in (0, 1), got {test_size}")
    if y is not None:
        y = asarray(y, backend=b) if not hasattr(y, "__array_namespace__") else y
        if y.shape[0] != n:
            raise ValueError(f"y: expected {n} labels to match X, got {describe(y)}")
    if stratify and y is None:
        raise ValueError("stratify: needs labels y")
    gen = make_generator(seed, b) if seed is not None else None
    if stratify:
        test_idx, train_idx = _stratified_order(xp, b, y, n, test_size, gen)
    else:
        perm = permutation(n, backend=b, gen=gen)
        n_test = int(math.ceil(test_size * n))
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    out = [xp.take(X, train_idx, axis=0), xp.take(X, test_idx, axis=0)]
    if y is not None:
        out += [xp.take(y, train_idx, axis=0), xp.take(y, test_idx, axis=0)]
    return tuple(out)
