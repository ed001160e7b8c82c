"""The workflow is generic: one scheduler protocol (``step(metric=None)``, ``needs_metric``) that ``fit``
uses without knowing scheduler classes; ``train.clip_grad_norm`` applied from configs; regression
(MSE) and custom metrics through ``fit``, ``evaluate`` and ``run_training``."""
from __future__ import annotations

import json

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.optim import lr_scheduler as S
from helpers import host, torch


def _sgd(lr=0.1):
    return optim.SGD([xn.Tensor(xn.asarray([1.0]), requires_grad=True)], lr=lr, momentum=0.9)


# every epoch schedule of the module, built on a fresh optimiser
EPOCH_SCHEDULES = {
    "StepLR": lambda o: S.StepLR(o, 2, 0.5),
    "MultiStepLR": lambda o: S.MultiStepLR(o, [1, 3], 0.5),
    "ConstantLR": lambda o: S.ConstantLR(o, 0.5, 2),
    "ExponentialLR": lambda o: S.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda o: S.PolynomialLR(o, 4, 2.0),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, 4),
    "LinearLR": lambda o: S.LinearLR(o, 0.2, 1.0, 3),
    "OneCycleLR": lambda o: S.OneCycleLR(o, 0.5, total_steps=8),
    "SequentialLR": lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 2), S.ExponentialLR(o, 0.9)], [2]),
}


def test_every_schedule_is_covered_by_the_protocol_test():
    classes = {n for n, c in vars(S).items() if isinstance(c, type) and issubclass(c, S.LRScheduler)
               and c is not S.LRScheduler}
    assert classes == set(EPOCH_SCHEDULES)
    assert S.ReduceLROnPlateau.needs_metric and not any(getattr(S, n).needs_metric for n in classes)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(EPOCH_SCHEDULES))
def test_epoch_schedules_accept_and_ignore_the_metric(name):
    """``step(metric=m)`` is ``step()`` for an epoch schedule (PyTorch's call)."""
    a, b = _sgd(), _sgd()
    sa, sb = EPOCH_SCHEDULES[name](a), EPOCH_SCHEDULES[name](b)
    for i in range(6):
        sa.step()
        sb.step(metric=10.0 - i)
        assert a.param_groups[0]["lr"] == b.param_groups[0]["lr"]
    assert sa.get_last_lr() == sb.get_last_lr()


def test_plateau_needs_the_metric_and_takes_it_in_every_spelling():
    sched = S.ReduceLROnPlateau(_sgd())
    with pytest.raises(TypeError, match="ReduceLROnPlateau.step: metric: expected the monitored value"):
        sched.step()
    with pytest.raises(TypeError, match="not both"):
        sched.step(1.0, metric=1.0)
    opts = [_sgd() for _ in range(3)]
    ours = [S.ReduceLROnPlateau(o, factor=0.5, patience=1) for o in opts]
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.5, patience=1)
    for v in (1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.9):
        ours[0].step(v)
        ours[1].step(metrics=v)
        ours[2].step(metric=v)
        ref.step(v)
        assert [o.param_groups[0]["lr"] for o in opts] == [pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)] * 3
    assert opts[0].param_groups[0]["lr"] < 0.1


def _data(n=120, d=6, c=3, seed=0):
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, d)).astype("float32")
    return X, (X[:, :c].argmax(1)).astype("int64")


class _Recorder:
    """A scheduler of the protocol that is no class of xpnet's: it records what fit passes."""

    needs_metric = True

    def __init__(self, optimizer):
        self.optimizer, self.seen = optimizer, []

    def step(self, metric=None):
        self.seen.append(metric)


class _Foreign:
    """A scheduler of another library (PyTorch-like, no ``needs_metric``): fit calls plain step()."""

    def __init__(self, optimizer):
        self.optimizer, self.calls = optimizer, 0

    def step(self):
        self.calls += 1


def test_fit_passes_the_monitored_value_through_the_protocol():
    X, y = _data()
    model = nn.Linear(6, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    rec = _Recorder(opt)
    h = xn.fit(model, (X[:90], y[:90]), optimizer=opt, epochs=3, batch_size=30, validation=(X[90:], y[90:]),
               scheduler=rec, progress=False)
    assert rec.seen == h["val_loss"]
    foreign = _Foreign(opt)
    xn.fit(model, (X, y), optimizer=opt, epochs=2, batch_size=30, scheduler=foreign, progress=False)
    assert foreign.calls == 2


def test_fit_drives_a_plateau_subclass_not_known_by_name():
    """A subclass of ReduceLROnPlateau with another name gets the metric (fit used to test the class name)."""

    class Patient(S.ReduceLROnPlateau):
        pass

    X, y = _data()
    model = nn.Linear(6, 3)
    opt = optim.SGD(model.parameters(), lr=1e-3)  # the loss never halves in an epoch: the plateau cuts
    sched = Patient(opt, factor=0.5, patience=0, threshold=0.5)
    h = xn.fit(model, (X, y), optimizer=opt, epochs=3, batch_size=40, scheduler=sched, progress=False)
    assert h["lr"] == [1e-3, 1e-3, 5e-4] and opt.param_groups[0]["lr"] == 2.5e-4


# -- clip_grad_norm --------------------------------------------------------------------------------
def test_clip_grad_norm_bounds_the_norm(backend):
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    X, y = _data()
    nn.functional.cross_entropy(model(xn.asarray(X * 100)), xn.asarray(y)).backward()
    before = float(np.sqrt(sum((host(p.grad).astype("float64") ** 2).sum() for p in model.parameters())))
    total = optim.clip_grad_norm_(model.parameters(), 1e-2)
    after = float(np.sqrt(sum((host(p.grad).astype("float64") ** 2).sum() for p in model.parameters())))
    assert float(host(total)) == pytest.approx(before, rel=1e-5)
    assert before > 1e-2 and after <= 1e-2 * (1 + 1e-5)


def _config_run(tmp_path, name, clip, task="classification", scheduler="none"):
    from xpnet.config import run_training

    r = np.random.default_rng(0)
    X = (r.standard_normal((160, 6)) * (50 if task == "classification" else 1)).astype("float32")
    if task == "classification":
        y, y_test = X[:120, :3].argmax(1), X[120:, :3].argmax(1)
    else:
        w = r.standard_normal(6).astype("float32")
        y, y_test = X[:120] @ w, X[120:] @ w
    np.savez(tmp_path / f"{name}.npz", x_train=X[:120], y_train=y, x_test=X[120:], y_test=y_test)
    cfg = {"name": name, "data": {"dataset": str(tmp_path / f"{name}.npz"), "standardize": False, "task": task,
                                  "validation_split": 0.25},
           "model": {"type": "mlp", "hidden": [8]},
           "train": {"epochs": 2, "batch_size": 40, "lr": 0.5 if task == "classification" else 0.02,
                     "optimizer": "sgd", "clip_grad_norm": clip,
                     "scheduler": scheduler}}
    summary = run_training(cfg, tmp_path / name, progress=False, quiet=True)
    from xpnet.config import load_run

    return summary, [host(p).copy() for p in load_run(tmp_path / name).model.parameters()]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_config_clip_grad_norm_reaches_every_step(tmp_path, monkeypatch, task):
    """train.clip_grad_norm in a config clips every step of the run (the norm after clipping is at most the
    value) and so changes the trained weights."""
    import xpnet.train.loop as loop

    norms = []

    def spy(params, max_norm, *a, **k):
        params = list(params)
        out = optim.clip_grad_norm_(params, max_norm, *a, **k)
        norms.append((max_norm, float(np.sqrt(sum((host(p.grad).astype("float64") ** 2).sum() for p in params)))))
        return out

    monkeypatch.setattr(loop, "clip_grad_norm_", spy)
    _, clipped = _config_run(tmp_path, "clip", 1e-3, task)
    assert len(norms) == 2 * 3 and all(c == 1e-3 and n <= 1e-3 * (1 + 1e-4) for c, n in norms)
    norms.clear()
    _, free = _config_run(tmp_path, "free", 0.0, task)
    assert norms == []
    assert any(not np.array_equal(a, b) for a, b in zip(clipped, free))


# -- regression and custom metrics -----------------------------------------------------------------
def max_abs_error(y_true, y_pred):
    from xpnet.backend import namespace_of

    xp = namespace_of(y_pred)
    return xp.max(xp.abs(y_pred - y_true))


def test_fit_and_evaluate_with_mse_and_a_custom_metric(backend):
    r = np.random.default_rng(1)
    X = r.standard_normal((100, 4)).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32")).astype("float32")
    xn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = optim.Adam(model.parameters(), lr=0.02)
    sched = S.ReduceLROnPlateau(opt, patience=1)
    h = xn.fit(model, (X[:80], y[:80]), loss="mse", optimizer=opt, epochs=4, batch_size=20,
               validation=(X[80:], y[80:]), scheduler=sched, metrics=(max_abs_error,), progress=False)
    assert "accuracy" not in h.history and "val_accuracy" not in h.history, "no accuracy for float targets"
    assert len(h["max_abs_error"]) == len(h["val_max_abs_error"]) == 4
    pred = host(xn.predict(model, X[80:], logits=True))[:, 0]
    assert h["val_max_abs_error"][-1] == pytest.approx(float(np.abs(pred - y[80:]).max()), rel=1e-5)
    res = xn.evaluate(model, (X[80:], y[80:]), loss="mse", metrics=(max_abs_error,))
    assert res["max_abs_error"] == pytest.approx(float(np.abs(pred - y[80:]).max()), rel=1e-5)
    assert res["loss"] == pytest.approx(float(((pred - y[80:]) ** 2).mean()), rel=1e-4)
    assert {"mse", "rmse", "mae", "r2"} <= set(res)
    with pytest.raises(ValueError, match="metrics"):
        xn.fit(model, (X, y), loss="mse", optimizer=opt, epochs=1, metrics=("f1",), progress=False)


def test_config_regression_run_with_a_plateau_schedule(tmp_path):
    """The config path with MSE targets and a schedule that needs the metric (stepped through the protocol)."""
    summary, _ = _config_run(tmp_path, "reg", 0.0, "regression", scheduler="plateau")
    assert summary["task"] == "regression" and summary["test_r2"] is not None
    hist = json.loads((tmp_path / "reg" / "history.json").read_text(encoding="utf-8"))
    assert "accuracy" not in json.dumps(hist)


def test_regression_run_folder_evaluates_and_predicts(tmp_path, capsys):
    """``xpnet eval`` / ``xpnet predict`` on a regression run: MSE metrics and predicted values, not classes."""
    import argparse

    from xpnet.cli import predict as cli_predict
    from xpnet.config import evaluate_run

    summary, _ = _config_run(tmp_path, "reg", 0.0, "regression")
    res = evaluate_run(tmp_path / "reg", quiet=True)
    for k in ("loss", "r2", "rmse", "mae"):
        assert res[f"test_{k}"] == pytest.approx(summary[f"test_{k}"], rel=1e-5)
    X = np.load(tmp_path / "reg.npz")["x_test"]
    np.save(tmp_path / "x.npy", X)
    cli_predict.run(argparse.Namespace(run=str(tmp_path / "reg"), input=str(tmp_path / "x.npy"),
                                       output=str(tmp_path / "p.npy"), logits=False))
    p = np.load(tmp_path / "p.npy")
    assert p.dtype == np.float32 and p.shape == (40, 1)
    y = np.load(tmp_path / "reg.npz")["y_test"]
    assert float(((p[:, 0] - y) ** 2).mean()) == pytest.approx(summary["test_mse"], rel=1e-4)
    assert "predicted values" in capsys.readouterr().out
