# purity: host -- the validation rows are chosen once, on the host, before the data moves to the backend
"""The validation split of ``run_training``: stratified, seeded, the same rows on every backend."""
from __future__ import annotations

import numpy as np


def stratified_indices(y, fraction: float, seed: int):
    """(train_rows, validation_rows), each sorted: ``round(fraction·N)`` validation rows in all, each
    class contributing its share (largest-remainder rounding, so the total is exact), chosen at random
    within the class by ``numpy.random.default_rng(seed)``. Training rows keep their original order."""
    y = np.asarray(y)
    n = len(y)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"data.validation_split: expected a fraction in (0, 1), got {fraction}")
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * fraction
    take = np.floor(quota).astype(np.int64)
    left = int(round(fraction * n)) - int(take.sum())
    order = np.argsort(-(quota - take), kind="stable")
    take[order[:max(left, 0)]] += 1
    rng = np.random.default_rng(seed)
    val = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)])
    mask = np.zeros(n, bool)
    mask[val] = True
    if mask.all() or not mask.any():
        raise ValueError(f"data.validation_split: {fraction} of {n} rows leaves no training or no validation rows")
    return np.flatnonzero(~mask), np.flatnonzero(mask)
