"""``DataLoader``: mini-batches sliced on the device, shuffled by the backend generator."""
from __future__ import annotations

import math

from ..backend.random import as_generator, permutation


class DataLoader:
    """Iterate ``(X_batch, y_batch)`` over an :class:`ArrayDataset` (or ``(X, y)``).

    With ``shuffle`` the whole dataset is permuted once per epoch on the device (one gather), and
    batches are contiguous slices of it: no per-batch host copy. ``seed`` gives the loader its own
    generator, so its order repeats regardless of other random draws; so does ``generator`` (an
    ``xn.Generator``, PyTorch's ``generator=``). Without either, this thread's stream shuffles.

    Args:
        dataset: an :class:`ArrayDataset` or a tuple ``(X, y)``.
        batch_size: rows per batch; the last batch is smaller unless ``drop_last``.
        shuffle: permute the rows at the start of every epoch.
        drop_last: skip the last, partial batch.
        seed / generator: the loader's own random stream (at most one of them).

    ``len(loader)`` is the number of batches per epoch (PyTorch's ``DataLoader`` semantics).

    >>> import xpnet as xn
    >>> ds = xn.data.ArrayDataset([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0, 1, 1])
    >>> [(xb.shape, xn.to_numpy(yb).tolist()) for xb, yb in xn.data.DataLoader(ds, batch_size=2)]
    [((2, 2), [0, 1]), ((1, 2), [1])]
    >>> len(xn.data.DataLoader(ds, batch_size=2, shuffle=True, seed=0, drop_last=True))
    1
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False, seed=None,
                 generator=None):
        from .dataset import ArrayDataset

        if isinstance(dataset, tuple) and len(dataset) == 2:
            dataset = ArrayDataset(*dataset)
        if not isinstance(dataset, ArrayDataset):
            raise TypeError(f"DataLoader: dataset: expected an xn.data.ArrayDataset or a tuple (X, y), "
                            f"got {type(dataset).__name__}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size: expected a positive int, got {batch_size!r}")
        for name, v in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(v, bool):
                raise TypeError(f"DataLoader: {name}: expected True or False, got {type(v).__name__} {v!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass either seed or generator, not both")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.seed = seed
        self.generator = as_generator(generator if seed is None else seed, dataset.backend, "DataLoader: seed")

    @property
    def _gen(self):
        return self.generator

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _epoch_arrays(self):
        ds = self.dataset
        if not self.shuffle:
            return ds.X, ds.y
        xp = ds.backend.xp
        perm = permutation(len(ds), backend=ds.backend, gen=self._gen)
        X = xp.take(ds.X, perm, axis=0)
        y = None if ds.y is None else xp.take(ds.y, perm, axis=0)
        return X, y

    def __iter__(self):
        X, y = self._epoch_arrays()
        n, bs = X.shape[0], self.batch_size
        stop = n - n % bs if self.drop_last else n
        for i in range(0, stop, bs):
            j = min(i + bs, n)
            yield (X[i:j, ...], y[i:j, ...]) if y is not None else X[i:j, ...]

    def to(self, target) -> "DataLoader":
        self.dataset.to(target)
        if self.generator is not None:
            state = self.generator.get_state()
            self.generator = as_generator(self.seed if self.seed is not None else 0, self.dataset.backend)
            b = self.generator.backend  # a host stream of the same kind continues where it was
            if b.host_native and state.get("kind") == b.rng_kind:
                self.generator.set_state(state)
        return self
