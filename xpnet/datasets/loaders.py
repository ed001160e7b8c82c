# purity: host -- dataset files are read and generated on the host with NumPy; ArrayDataset moves them
"""Loaders for MNIST-1D (generated offline), the reports' ``.npy`` folder layout, ``.npz``, ``.csv``
and synthetic benchmark data. Each returns :class:`Splits` of host NumPy arrays."""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
from typing import NamedTuple

import numpy as np


class Splits(NamedTuple):
    """Host NumPy splits of a classification dataset: ``x_*`` float32 (N, features...), ``y_*`` int64 (N,).

    >>> from xpnet.datasets import make_synthetic
    >>> s = make_synthetic(n=100, features=8, classes=3)
    >>> s.num_features, s.num_classes, s.describe()
    (8, 3, '100 train / 20 test, 8 features, 3 classes')
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def num_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def describe(self) -> str:
        return (f"{len(self.x_train)} train / {len(self.x_test)} test, {self.num_features} features, "
                f"{self.num_classes} classes")


def cache_dir() -> pathlib.Path:
    """Where generated datasets are cached: ``$XPNET_CACHE``, else ``~/.cache/xpnet``.

    >>> import os
    >>> from xpnet.datasets.loaders import cache_dir
    >>> cache_dir().name if "XPNET_CACHE" not in os.environ else "xpnet"
    'xpnet'
    """
    root = os.environ.get("XPNET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "xpnet")
    return pathlib.Path(root)


def _labels(y, name, path):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} in {path}: expected labels of shape (N,) or (N, 1), got {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"{name} in {path}: expected integer class labels, got non-integer floats")
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} in {path}: expected integer class labels, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise ValueError(f"{name} in {path}: labels must be >= 0, got minimum {y.min()}")
    return y.astype(np.int64)


_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK\x03\x04"}


def _check_magic(path):
    """Refuse a file whose first bytes are not those of its NumPy format (a clear error instead of
    NumPy's guess that it holds pickled data)."""
    magic = _MAGIC[path.suffix]
    with open(path, "rb") as f:
        head = f.read(len(magic))
    if head != magic:
        raise ValueError(f"dataset: {path} is not a {path.suffix} file (it does not start with the {path.suffix} header)")


def _features(x, name, path):
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"{name} in {path}: expected shape (N, features), got {x.shape}")
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{name} in {path}: expected numeric features, got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    bad = int((~np.isfinite(x)).sum())
    if bad:
        raise ValueError(f"{name} in {path}: contains {bad} NaN or infinite values")
    return x


def _splits(xtr, ytr, xte, yte, path) -> Splits:
    s = Splits(_features(xtr, "train data", path), _labels(ytr, "train labels", path),
               _features(xte, "test data", path), _labels(yte, "test labels", path))
    if len(s.x_train) != len(s.y_train) or len(s.x_test) != len(s.y_test):
        raise ValueError(f"{path}: data and label counts differ: train {len(s.x_train)} vs {len(s.y_train)}, "
                         f"test {len(s.x_test)} vs {len(s.y_test)}")
    if s.x_train.shape[1:] != s.x_test.shape[1:]:
        raise ValueError(f"{path}: train features {s.x_train.shape[1:]} differ from test features {s.x_test.shape[1:]}")
    return s


def load_mnist1d(num_samples: int = 5000, train_split: float = 0.8, seed: int = 42, cache: bool = True) -> Splits:
    """MNIST-1D (Greydanus 2020) generated offline by ``mnist1d.data.make_dataset`` with its default
    arguments (4000 train / 1000 test, 40 features, 10 classes), cached under :func:`cache_dir`.

    Args:
        num_samples: rows in total (train + test); train_split: the training fraction;
        seed: the generator's seed (42: the public dataset); cache: read/write the ``.npz`` cache.

    Returns:
        :class:`Splits` of host arrays: x float32 (N, 40), y int64 (N,). Needs ``pip install 'xpnet[mnist1d]'``.

    >>> import xpnet as xn
    >>> data = xn.datasets.load_mnist1d(num_samples=200, cache=False)
    >>> data.x_train.shape, data.x_test.shape, data.y_train.dtype
    ((160, 40), (40, 40), dtype('int64'))
    """
    params = dict(num_samples=num_samples, train_split=train_split, seed=seed)
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir() / f"mnist1d-{key}.npz"
    if cache and path.exists():
        return load_npz(path)
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ImportError("load_mnist1d needs the mnist1d package: pip install 'xpnet[mnist1d]'") from None
    args = get_dataset_args()
    for k, v in params.items():
        setattr(args, k, v)
    d = make_dataset(args)
    s = _splits(d["x"], d["y"], d["x_test"], d["y_test"], "mnist1d")
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, x_train=s.x_train, y_train=s.y_train, x_test=s.x_test, y_test=s.y_test)
        os.replace(tmp, path)
    return s


def load_npy_dir(path) -> Splits:
    """The reports' layout: ``train_data.npy``, ``train_label.npy``, ``test_data.npy``,
    ``test_label.npy`` in one folder (labels may be shaped (N, 1)). Read with ``allow_pickle=False``;
    a file that is not an ``.npy`` is refused with its name.

    >>> import pathlib, tempfile, numpy as np, xpnet as xn
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for part, n in (("train", 6), ("test", 2)):
    ...     np.save(folder / f"{part}_data.npy", np.ones((n, 3)))
    ...     np.save(folder / f"{part}_label.npy", np.arange(n).reshape(n, 1) % 2)
    >>> xn.datasets.load_npy_dir(folder).describe()
    '6 train / 2 test, 3 features, 2 classes'
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"dataset: {path} is not a folder")
    names = ("train_data", "train_label", "test_data", "test_label")
    missing = [n + ".npy" for n in names if not (path / f"{n}.npy").exists()]
    if missing:
        raise FileNotFoundError(f"dataset: {path} lacks {', '.join(missing)} (expected {', '.join(n + '.npy' for n in names)})")
    arrays = []
    for n in names:
        _check_magic(path / f"{n}.npy")
        try:
            arrays.append(np.load(path / f"{n}.npy", allow_pickle=False))
        except ValueError as e:
            raise ValueError(f"dataset: cannot read {path / (n + '.npy')}: {e}") from None
    return _splits(*arrays, path)


def load_npz(path) -> Splits:
    """An ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (read with ``allow_pickle=False``).

    >>> import os, tempfile, numpy as np, xpnet as xn
    >>> path = os.path.join(tempfile.mkdtemp(), "data.npz")
    >>> np.savez(path, x_train=np.ones((4, 2)), y_train=[0, 1, 0, 1], x_test=np.ones((2, 2)), y_test=[1, 0])
    >>> xn.datasets.load_npz(path).describe()
    '4 train / 2 test, 2 features, 2 classes'
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset: {path} does not exist")
    _check_magic(path)
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in Splits._fields if k not in z]
        if missing:
            raise KeyError(f"dataset: {path} lacks arrays {missing} (expected {list(Splits._fields)})")
        return _splits(*(z[k] for k in Splits._fields), path)


def load_csv(train_path, test_path=None, label_column: int = -1, test_fraction: float = 0.2, seed: int = 0,
             skip_header: bool | None = None) -> Splits:
    """Numeric CSV file(s), one row per sample, the label in ``label_column``. Without ``test_path``
    a stratified ``test_fraction`` of the rows is held out (seeded by ``seed``). A first line with
    letters is read as a header unless ``skip_header`` says otherwise.

    >>> import os, tempfile, numpy as np, xpnet as xn
    >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> rows = [[i, 2 * i, i % 2] for i in range(10)]          # two features, the label last
    >>> np.savetxt(path, rows, delimiter=",", header="a,b,label", comments="")
    >>> xn.datasets.load_csv(path, test_fraction=0.2).describe()
    '8 train / 2 test, 2 features, 2 classes'
    """

    def read(p):
        p = pathlib.Path(p)
        if not p.exists():
            raise FileNotFoundError(f"dataset: {p} does not exist")
        if p.is_dir():
            raise IsADirectoryError(f"dataset: {p} is a folder, expected a .csv file")
        with p.open(errors="replace") as f:
            first = f.readline()
        header = skip_header if skip_header is not None else any(c.isalpha() for c in first.replace("e", "").replace("E", ""))
        if p.is_dir():
            raise IsADirectoryError(f"dataset: {p} is a folder, expected a .csv file")
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "input contained no data": refused below
                a = np.loadtxt(p, delimiter=",", skiprows=1 if header else 0, ndmin=2)
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"dataset: {p} is not a numeric CSV: {e}") from None
        if a.shape[0] == 0:
            raise ValueError(f"dataset: {p} holds no data rows (expected one row per sample, the label in "
                             f"column {label_column})")
        if a.shape[1] < 2 or not -a.shape[1] <= label_column < a.shape[1]:
            raise ValueError(f"dataset: label_column: expected a column of {p}'s {a.shape[1]} columns with at least "
                             f"one feature column left, got {label_column}")
        return np.delete(a, label_column, axis=1), a[:, label_column]

    if isinstance(label_column, bool) or not isinstance(label_column, int):
        raise TypeError(f"load_csv: label_column: expected an int, got {type(label_column).__name__}")
    if test_path is None and (isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float))
                              or not 0.0 < test_fraction < 1.0):
        raise ValueError(f"load_csv: test_fraction: expected a fraction in (0, 1), got {test_fraction!r}")

    x, y = read(train_path)
    if test_path is not None:
        xt, yt = read(test_path)
        return _splits(x, y, xt, yt, train_path)
    labels = _labels(y, "labels", train_path)
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[: round(test_fraction * (labels == c).sum())]
                           for c in np.unique(labels)])
    mask = np.zeros(len(labels), bool)
    mask[test] = True
    return _splits(x[~mask], labels[~mask], x[mask], labels[mask], train_path)


def make_synthetic(n: int = 50_000, features: int = 128, classes: int = 10, seed: int = 0, n_test=None) -> Splits:
    """Benchmark data: X ~ N(0, 1) float32 (n × features), labels uniform in 0..classes−1 (random
    labels: a speed test, not a learning task). ``n_test`` defaults to n // 5.

    >>> import xpnet as xn
    >>> s = xn.datasets.make_synthetic(n=100, features=8, classes=3, seed=0)
    >>> s.x_train.shape, s.x_test.shape, s.x_train.dtype, int(s.y_train.max()) < 3
    ((100, 8), (20, 8), dtype('float32'), True)
    """
    for name, v, lo in (("n", n, 1), ("features", features, 1), ("classes", classes, 1), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"make_synthetic: {name}: expected an int >= {lo}, got {v!r}")
    if n_test is not None and (isinstance(n_test, bool) or not isinstance(n_test, (int, np.integer)) or n_test < 0):
        raise ValueError(f"make_synthetic: n_test: expected an int >= 0 or None, got {n_test!r}")
    rng = np.random.default_rng(seed)
    n_test = n // 5 if n_test is None else n_test
    x = rng.standard_normal((n + n_test, features), dtype=np.float32)
    y = rng.integers(0, classes, n + n_test).astype(np.int64)
    return Splits(x[:n], y[:n], x[n:], y[n:])


def load_dataset(spec) -> Splits:
    """``"mnist1d"``, ``"synthetic"``, a folder in the reports' layout, an ``.npz`` or a ``.csv``: what
    ``data.dataset`` of a config names (:func:`load_mnist1d`, :func:`make_synthetic`,
    :func:`load_npy_dir`, :func:`load_npz`, :func:`load_csv`).

    >>> import xpnet as xn
    >>> xn.datasets.load_dataset("synthetic").describe()
    '50000 train / 10000 test, 128 features, 10 classes'
    >>> xn.datasets.load_dataset("data.txt")
    Traceback (most recent call last):
    ...
    ValueError: dataset: expected 'mnist1d', 'synthetic', a folder of .npy files, an .npz or a .csv, got 'data.txt'
    """
    if spec in (None, "mnist1d"):
        return load_mnist1d()
    if spec == "synthetic":
        return make_synthetic()
    p = pathlib.Path(spec)
    if p.is_dir():
        return load_npy_dir(p)
    if p.suffix == ".npz":
        return load_npz(p)
    if p.suffix == ".csv":
        return load_csv(p)
    raise ValueError(f"dataset: expected 'mnist1d', 'synthetic', a folder of .npy files, an .npz or a .csv, got {spec!r}")
