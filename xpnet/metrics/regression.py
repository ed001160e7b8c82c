"""Regression metrics on the device (scikit-learn definitions): MSE, RMSE, MAE and R².

Inputs: targets ``y_true`` and predictions ``y_pred`` of the same shape, (N,) or (N, K) (a
prediction of shape (N, 1) is accepted for targets (N,)). Every function returns a 0-d backend
array; multi-output values are averaged uniformly over the outputs (scikit-learn's
``multioutput="uniform_average"``).

- MSE = (1/N) Σᵢ (yᵢ − ŷᵢ)²,  RMSE = √MSE,  MAE = (1/N) Σᵢ |yᵢ − ŷᵢ|
- R² = 1 − Σᵢ (yᵢ − ŷᵢ)² / Σᵢ (yᵢ − ȳ)²  (coefficient of determination; scikit-learn ``r2_score``:
  a constant target gives 1.0 for a perfect prediction and 0.0 otherwise)
"""
from __future__ import annotations

from ..backend import asarray, describe, namespace_of
from ..autograd.engine import data_of


def _pair(y_true, y_pred):
    y_true = data_of(y_true)
    y_pred = data_of(y_pred)
    if not hasattr(y_true, "__array_namespace__"):
        y_true = asarray(y_true)
    if not hasattr(y_pred, "__array_namespace__"):
        y_pred = asarray(y_pred)
    xp = namespace_of(y_true)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1 and y_true.ndim == 1:
        y_pred = xp.reshape(y_pred, (-1,))
    if y_true.ndim == 2 and y_true.shape[1] == 1 and y_pred.ndim == 1:
        y_true = xp.reshape(y_true, (-1,))
    if tuple(y_pred.shape) != tuple(y_true.shape):
        raise ValueError(f"y_pred: expected shape {tuple(y_true.shape)} to match y_true, got {describe(y_pred)}")
    if y_true.shape[0] == 0:
        raise ValueError("y_true: expected at least one row, got 0")
    dtype = y_pred.dtype if xp.isdtype(y_pred.dtype, "real floating") else xp.float32
    return xp, xp.astype(y_true, dtype), xp.astype(y_pred, dtype)


def mean_squared_error(y_true, y_pred):
    """MSE = mean over rows (and outputs) of (y − ŷ)² (scikit-learn ``mean_squared_error``).

    Args:
        y_true: targets (N,) or (N, K); y_pred: predictions of the same shape ((N, 1) accepted for (N,)).

    Returns:
        a 0-d float array on the device.

    >>> import xpnet as xn
    >>> y, pred = xn.asarray([3.0, -0.5, 2.0, 7.0]), xn.asarray([2.5, 0.0, 2.0, 8.0])
    >>> float(xn.metrics.mean_squared_error(y, pred))
    0.375
    """
    xp, t, p = _pair(y_true, y_pred)
    return xp.mean((t - p) ** 2)


def root_mean_squared_error(y_true, y_pred):
    """RMSE = √MSE (scikit-learn ``root_mean_squared_error``: the root of the uniformly averaged MSE
    for one output; per-output roots averaged for several). Arguments and result as
    :func:`mean_squared_error`.

    >>> import xpnet as xn
    >>> y, pred = xn.asarray([3.0, -0.5, 2.0, 7.0]), xn.asarray([2.5, 0.0, 2.0, 8.0])
    >>> round(float(xn.metrics.root_mean_squared_error(y, pred)), 4)
    0.6124
    """
    xp, t, p = _pair(y_true, y_pred)
    return xp.mean(xp.sqrt(xp.mean((t - p) ** 2, axis=0)))


def mean_absolute_error(y_true, y_pred):
    """MAE = mean over rows (and outputs) of |y − ŷ| (scikit-learn ``mean_absolute_error``). Arguments
    and result as :func:`mean_squared_error`.

    >>> import xpnet as xn
    >>> float(xn.metrics.mean_absolute_error(xn.asarray([3.0, -0.5, 2.0, 7.0]), xn.asarray([2.5, 0.0, 2.0, 8.0])))
    0.5
    """
    xp, t, p = _pair(y_true, y_pred)
    return xp.mean(xp.abs(t - p))


def r2_score(y_true, y_pred):
    """R² = 1 − SS_res / SS_tot per output, averaged over outputs (constant target: 1 if perfect, else 0;
    scikit-learn ``r2_score``). Arguments and result as :func:`mean_squared_error`.

    >>> import xpnet as xn
    >>> round(float(xn.metrics.r2_score(xn.asarray([3.0, -0.5, 2.0, 7.0]), xn.asarray([2.5, 0.0, 2.0, 8.0]))), 4)
    0.9486
    """
    xp, t, p = _pair(y_true, y_pred)
    ss_res = xp.sum((t - p) ** 2, axis=0)
    ss_tot = xp.sum((t - xp.mean(t, axis=0)) ** 2, axis=0)
    ok = ss_tot > 0
    safe = xp.where(ok, ss_tot, xp.ones_like(ss_tot))
    r2 = xp.where(ok, 1 - ss_res / safe, xp.where(ss_res == 0, xp.ones_like(ss_res), xp.zeros_like(ss_res)))
    return xp.mean(r2)


def regression_report(y_true, y_pred) -> dict:
    """``{"mse", "rmse", "mae", "r2"}`` as Python floats (one host read per value).

    >>> import xpnet as xn
    >>> report = xn.metrics.regression_report(xn.asarray([3.0, -0.5, 2.0, 7.0]), xn.asarray([2.5, 0.0, 2.0, 8.0]))
    >>> {k: round(v, 4) for k, v in report.items()}
    {'mse': 0.375, 'rmse': 0.6124, 'mae': 0.5, 'r2': 0.9486}
    """
    from ..backend import to_numpy

    return {k: float(to_numpy(f(y_true, y_pred))) for k, f in
            (("mse", mean_squared_error), ("rmse", root_mean_squared_error), ("mae", mean_absolute_error),
             ("r2", r2_score))}
