"""Regression end to end: float targets in ArrayDataset, fit/evaluate/predict with MSE, the metrics
against scikit-learn, and ``xpnet train`` with ``data.task = "regression"`` or ``train.loss = "mse"``."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from sklearn import metrics as skm

import xpnet as xn
from xpnet import nn, optim

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _data(n=300, seed=0):
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 5)).astype("float32")
    y = (X @ r.standard_normal(5) + 0.5 * np.sin(3 * X[:, 0])).astype("float32")
    return X, y


def test_regression_metrics_match_sklearn(backend):
    r = np.random.default_rng(1)
    t, p = r.standard_normal((50, 2)), r.standard_normal((50, 2))
    T, P = xn.asarray(t), xn.asarray(p)
    got = xn.metrics.regression_report(T, P)
    assert got["mse"] == pytest.approx(skm.mean_squared_error(t, p), rel=1e-5)
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(t, p), rel=1e-5)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-5)
    assert got["r2"] == pytest.approx(skm.r2_score(t, p), rel=1e-5)
    one = xn.metrics.regression_report(xn.asarray(t[:, 0]), xn.asarray(p[:, :1]))  # (N,) vs (N, 1)
    assert one["r2"] == pytest.approx(skm.r2_score(t[:, 0], p[:, 0]), rel=1e-5)
    const = xn.asarray(np.ones(4))
    assert float(xn.to_numpy(xn.metrics.r2_score(const, const))) == 1.0
    with pytest.raises(ValueError, match="y_pred: expected shape"):
        xn.metrics.mean_squared_error(T, P[:10, ...])


def test_fit_evaluate_predict_with_float_targets(backend):
    X, y = _data()
    ds = xn.data.ArrayDataset(X, y)
    assert backend.xp.isdtype(ds.y.dtype, "real floating") and tuple(ds.y.shape) == (300,)
    xn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 32), nn.GELU(), nn.Linear(32, 1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    before = xn.evaluate(model, (X, y), loss="mse")
    h = xn.fit(model, (X[:240], y[:240]), loss="mse", optimizer=opt, epochs=30, batch_size=32,
               validation=(X[240:], y[240:]), progress=False)
    assert h["val_loss"][-1] < h["val_loss"][0] / 3
    after = xn.evaluate(model, (X[240:], y[240:]), loss="mse")
    assert set(after) == {"loss", "mse", "rmse", "mae", "r2"} and after["r2"] > 0.9 > before["r2"]
    pred = xn.to_numpy(xn.predict(model, X[240:], logits=True))[:, 0]
    assert after["r2"] == pytest.approx(skm.r2_score(y[240:], pred), abs=1e-4)
    with pytest.raises(ValueError, match="NaN"):
        xn.data.ArrayDataset(X, np.where(np.arange(300) == 3, np.nan, y))


@pytest.mark.parametrize("key", ['[data]\ntask = "regression"', '[train]\nloss = "mse"'])
def test_xpnet_train_regression(tmp_path, key):
    X, y = _data(400)
    np.savez(tmp_path / "reg.npz", x_train=X[:300], y_train=y[:300], x_test=X[300:], y_test=y[300:])
    data_table = f'dataset = "{tmp_path / "reg.npz"}"\nstandardize = true\n'
    if key.startswith("[data]"):
        cfg = f'[data]\n{data_table}task = "regression"\n[model]\nhidden = [32]\n[train]\nepochs = 25\nlr = 0.01\n'
    else:
        cfg = f'[data]\n{data_table}[model]\nhidden = [32]\n[train]\nepochs = 25\nlr = 0.01\nloss = "mse"\n'
    (tmp_path / "reg.toml").write_text(cfg)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "xpnet.cli.main", "train", "--config", str(tmp_path / "reg.toml"),
                        "--out", str(tmp_path / "runs"), "--no-progress"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "test R²" in r.stdout
    run = next((tmp_path / "runs").iterdir())
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert m["task"] == "regression" and m["test_r2"] > 0.8 and m["validation_r2"] is not None
    assert m["test_rmse"] == pytest.approx(m["test_mse"] ** 0.5, rel=1e-4)
    assert {"config.json", "history.json", "model.npz", "preprocessing.npz"} <= {p.name for p in run.iterdir()}


def test_regression_config_errors():
    from xpnet.config import load_config

    with pytest.raises(ValueError, match="train.loss: cross_entropy needs class labels"):
        load_config({"data": {"task": "regression"}, "train": {"loss": "cross_entropy"}})
    with pytest.raises(ValueError, match="data.task: expected one of classification, regression"):
        load_config({"data": {"task": "ranking"}})
