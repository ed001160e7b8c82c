# purity: host -- dataset files are read and generated on the host with NumPy; ArrayDataset moves them
"""Regression data (float targets): ``synthetic_regression``, or an ``.npz`` / ``.csv`` / folder of
``.npy`` files in the same layouts as the classification loaders, targets kept as float32."""
from __future__ import annotations

import pathlib
from typing import NamedTuple

import numpy as np

from .loaders import _check_magic, _features


class RegressionSplits(NamedTuple):
    """Host NumPy splits of a regression dataset: ``x_*`` float32 (N, features...), ``y_*`` float32
    (N,) or (N, K).

    >>> from xpnet.datasets.regression import make_regression
    >>> make_regression(n=40, features=3).describe()
    '40 train / 10 test, 3 features, 1 regression target(s)'
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def num_outputs(self) -> int:
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    def describe(self) -> str:
        return (f"{len(self.x_train)} train / {len(self.x_test)} test, {self.num_features} features, "
                f"{self.num_outputs} regression target(s)")


def _targets(y, name, path):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2) or y.dtype.kind not in "fiu":
        raise ValueError(f"{name} in {path}: expected numeric targets of shape (N,) or (N, K), got {y.dtype} {y.shape}")
    y = y.astype(np.float32)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} in {path}: contains NaN or infinite targets")
    return y


def make_regression(n: int = 2000, features: int = 10, noise: float = 0.1, seed: int = 0, n_test=None) -> RegressionSplits:
    """y = sin(x₀) + x₁·x₂ + Σⱼ wⱼ xⱼ + noise·ε with X, ε ~ N(0, 1), w ~ N(0, 1/features): a smooth
    non-linear target (``n_test`` defaults to n // 4; needs features ≥ 3).

    >>> from xpnet.datasets.regression import make_regression
    >>> s = make_regression(n=40, features=3, seed=0)
    >>> s.x_train.shape, s.y_train.shape, s.y_test.dtype
    ((40, 3), (40,), dtype('float32'))
    """
    rng = np.random.default_rng(seed)
    n_test = n // 4 if n_test is None else n_test
    x = rng.standard_normal((n + n_test, features)).astype(np.float32)
    w = rng.standard_normal(features).astype(np.float32) / np.sqrt(features)
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + x @ w + noise * rng.standard_normal(n + n_test)
    y = y.astype(np.float32)
    return RegressionSplits(x[:n], y[:n], x[n:], y[n:])


def load_regression(spec) -> RegressionSplits:
    """``"synthetic_regression"``, an ``.npz`` (x_train, y_train, x_test, y_test), a folder of
    train_data/train_label/test_data/test_label ``.npy`` or a ``.csv`` (target in the last column,
    the last 20 % of rows held out as test).

    >>> from xpnet.datasets.regression import load_regression
    >>> load_regression("synthetic_regression").num_outputs
    1
    """
    if spec == "synthetic_regression":
        return make_regression()
    p = pathlib.Path(spec)
    if p.suffix == ".npz":
        if not p.exists():
            raise FileNotFoundError(f"dataset: {p} does not exist")
        _check_magic(p)
        with np.load(p, allow_pickle=False) as z:
            arrays = [z[k] for k in RegressionSplits._fields]
    elif p.is_dir():
        arrays = []
        for n in ("train_data", "train_label", "test_data", "test_label"):
            _check_magic(p / f"{n}.npy")
            arrays.append(np.load(p / f"{n}.npy", allow_pickle=False))
    elif p.suffix == ".csv":
        if not p.exists():
            raise FileNotFoundError(f"dataset: {p} does not exist")
        a = np.loadtxt(p, delimiter=",", ndmin=2)
        cut = int(round(0.8 * len(a)))
        arrays = [a[:cut, :-1], a[:cut, -1], a[cut:, :-1], a[cut:, -1]]
    else:
        raise ValueError(f"dataset: for data.task = 'regression' expected 'synthetic_regression', an .npz, a .csv or a "
                         f"folder of .npy files, got {spec!r}")
    return RegressionSplits(_features(arrays[0], "train data", p), _targets(arrays[1], "train targets", p),
                            _features(arrays[2], "test data", p), _targets(arrays[3], "test targets", p))
