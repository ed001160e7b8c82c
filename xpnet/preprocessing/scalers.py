"""Feature scalers, fitted on training data and applied to any split (scikit-learn semantics)."""
from __future__ import annotations

import math

from ..backend import asarray, backend_of, describe, get_default_dtype, is_array, namespace_of, on_host_check


class _Scaler:
    def _check(self, X, fitted=True):
        from ..backend import check_numeric as _numeric

        who = f"{type(self).__name__}.{'transform' if fitted else 'fit'}"
        X = _numeric(X, f"{who}: X")
        if not is_array(X) or backend_of(X).host_native:
            X = asarray(X)  # host data: the active backend, the default float dtype (as xn.asarray)
        xp = namespace_of(X)
        if not xp.isdtype(X.dtype, "real floating"):
            X = xp.astype(X, getattr(xp, get_default_dtype()))
        if X.ndim != 2:
            raise ValueError(f"{who}: X: expected shape (N, features), got {describe(X)}")
        if not fitted:
            if X.shape[0] == 0:
                raise ValueError(f"{who}: X: expected at least one row, got {describe(X)}")
            on_host_check(X, f"{who}: X")
        if fitted:
            if not hasattr(self, "n_features_in_"):
                raise RuntimeError(f"{type(self).__name__}: call fit(X_train) before transform")
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X: expected {self.n_features_in_} features (as fitted), got {describe(X)}")
        return X

    def fit_transform(self, X):
        return self.fit(X).transform(X)


class StandardScaler(_Scaler):
    """z = (x − μ)/σ per feature, μ and σ (population) from the training data; σ = 0 → 1
    (scikit-learn ``StandardScaler``). ``fit(X)`` returns the scaler; ``transform``, ``fit_transform``
    and ``inverse_transform`` return arrays on X's backend; fitted attributes ``mean_``, ``scale_``,
    ``n_features_in_``.

    Shape:
        X: (N, features); host data (lists, NumPy) go to the active backend in the default float dtype.

    >>> import xpnet as xn
    >>> X = xn.asarray([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    >>> scaler = xn.preprocessing.StandardScaler().fit(X)
    >>> print(xn.to_numpy(scaler.mean_), xn.to_numpy(scaler.transform(X)).round(4))
    [ 3. 10.] [[-1.2247  0.    ]
     [ 0.      0.    ]
     [ 1.2247  0.    ]]
    >>> print(xn.to_numpy(scaler.inverse_transform(scaler.transform(X))))
    [[ 1. 10.]
     [ 3. 10.]
     [ 5. 10.]]
    """

    def fit(self, X):
        X = self._check(X, fitted=False)
        xp = namespace_of(X)
        self.mean_ = xp.mean(X, axis=0)
        std = xp.std(X, axis=0)
        self.scale_ = xp.where(std == 0, xp.ones_like(std), std)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = self._check(X)
        return (X - self.mean_) / self.scale_

    def inverse_transform(self, X):
        X = self._check(X)
        return X * self.scale_ + self.mean_


class MinMaxScaler(_Scaler):
    """x' = (x − min)/(max − min)·(b − a) + a per feature, (a, b) = ``feature_range``; constant
    features → a (scikit-learn ``MinMaxScaler``). Methods as :class:`StandardScaler`.

    >>> import xpnet as xn
    >>> X = xn.asarray([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    >>> print(xn.to_numpy(xn.preprocessing.MinMaxScaler(feature_range=(-1, 1)).fit_transform(X)))
    [[-1. -1.]
     [ 0. -1.]
     [ 1. -1.]]
    """

    def __init__(self, feature_range=(0.0, 1.0)):
        ok = isinstance(feature_range, (tuple, list)) and len(feature_range) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in feature_range)
        if not ok or not feature_range[0] < feature_range[1]:
            raise ValueError(f"MinMaxScaler: feature_range: expected (min, max) finite numbers with min < max, "
                             f"got {feature_range!r}")
        self.feature_range = tuple(float(v) for v in feature_range)

    def fit(self, X):
        X = self._check(X, fitted=False)
        xp = namespace_of(X)
        self.data_min_, self.data_max_ = xp.min(X, axis=0), xp.max(X, axis=0)
        rng = self.data_max_ - self.data_min_
        a, b = self.feature_range
        self.scale_ = (b - a) / xp.where(rng == 0, xp.ones_like(rng), rng)
        self.min_ = a - self.data_min_ * self.scale_
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = self._check(X)
        return X * self.scale_ + self.min_

    def inverse_transform(self, X):
        X = self._check(X)
        return (X - self.min_) / self.scale_
