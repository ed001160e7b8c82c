"""End to end: the same script on every namespace, float32 purity, fit/evaluate/predict, early
stopping, NaN detection, metrics against scikit-learn, checkpoints, datasets, the command line."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from helpers import host, torch


def _data(n=256, d=20, c=4, seed=0):
    r = np.random.default_rng(seed)
    centers = r.standard_normal((c, d)) * 2
    y = r.integers(0, c, n)
    return (centers[y] + r.standard_normal((n, d))).astype("float32"), y


def _two_layer_script(X, y, steps=30):
    """The user's script: nothing backend-specific in it."""
    xn.manual_seed(0)
    model = nn.Sequential(nn.Linear(X.shape[1], 32), nn.ReLU(), nn.Linear(32, 4))
    weights = [host(p).copy() for p in model.parameters()]
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    Xb, yb = xn.asarray(X), xn.asarray(y)
    losses = []
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(Xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return weights, losses


def test_same_script_trains_on_every_namespace_like_pytorch(backend):
    X, y = _data()
    weights, losses = _two_layer_script(X, y)
    tm = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    with torch.no_grad():
        for p, w in zip(tm.parameters(), weights):
            p.copy_(torch.tensor(w))
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    ref = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(tm(torch.tensor(X)), torch.tensor(y))
        topt.zero_grad()
        loss.backward()
        topt.step()
        ref.append(loss.item())
    np.testing.assert_allclose(losses, ref, rtol=2e-4, atol=2e-5)
    assert losses[-1] < 0.5 * losses[0]


def test_float32_run_creates_no_float64(backend, xp, monkeypatch):
    """Every array an operation produces, every gradient and every optimiser state stays float32."""
    from xpnet.tensor import Tensor

    seen = []
    orig = Tensor._make.__func__

    def spy(cls, data, xp_, requires_grad=False):
        seen.append(data.dtype)
        return orig(cls, data, xp_, requires_grad)

    monkeypatch.setattr(Tensor, "_make", classmethod(spy))
    model = nn.Sequential(nn.Linear(20, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Dropout(0.1),
                          nn.Residual(nn.Sequential(nn.Linear(16, 16), nn.LayerNorm(16), nn.Sigmoid())),
                          nn.Linear(16, 4))
    X, y = _data(64)
    for opt in (optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
                optim.AdamW(model.parameters(), lr=1e-3, amsgrad=True)):
        for _ in range(2):
            loss = nn.CrossEntropyLoss(label_smoothing=0.1)(model(xn.asarray(X)), xn.asarray(y))
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        states = [v for s in opt.state.values() for v in s.values() if hasattr(v, "dtype")]
        assert all(v.dtype == xp.float32 for v in states)
    assert seen and all(d == xp.float32 for d in seen if xp.isdtype(d, "real floating"))
    assert all(p.grad.dtype == xp.float32 and p.dtype == xp.float32 for p in model.parameters())
    assert all(b.dtype == xp.float32 for b in model.buffers())


def test_fit_evaluate_predict(backend):
    X, y = _data(400)
    model = nn.Sequential(nn.Linear(20, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 4))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = xn.fit(model, (X, y), optimizer=opt, epochs=5, batch_size=32, validation_split=0.2, scheduler=sched,
               progress=False, seed=0)
    assert h.epochs == 5 and set(h.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "epoch_time"}
    assert h["lr"] == [1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3]
    assert h["loss"][-1] < h["loss"][0]
    res = xn.evaluate(model, (X, y))
    assert res["accuracy"] > 0.8
    pred = xn.predict(model, X, batch_size=64)
    assert pred.shape == (400,)
    assert abs(float(host(xn.metrics.accuracy(xn.asarray(y), pred))) - res["accuracy"]) < 1e-6


def test_early_stopping_restores_best_weights():
    X, y = _data(200)
    Xv, yv = _data(100, seed=1)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
    opt = optim.SGD(model.parameters(), lr=0.5)
    es = xn.EarlyStopping(patience=2, min_delta=10.0)  # nothing improves by 10: stops after 3 epochs
    h = xn.fit(model, (X, y), optimizer=opt, epochs=20, batch_size=16, validation=(Xv, yv),
               early_stopping=es, progress=False)
    assert h.epochs == 3 and h.stopped_epoch == 2 and h.best_epoch == 0
    assert xn.evaluate(model, (Xv, yv))["loss"] == pytest.approx(h["val_loss"][0], rel=1e-5)


def test_nonfinite_loss_names_epoch_and_step():
    from xpnet.train.loop import NonFiniteLossError

    X, y = _data(64)
    model = nn.Sequential(nn.Linear(20, 8), nn.Linear(8, 4))
    opt = optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step [2-9]"):
        xn.fit(model, (X, y), optimizer=opt, epochs=3, batch_size=8, progress=False, shuffle=False)


def test_bad_training_inputs_have_clear_errors():
    X, y = _data(20)
    model = nn.Linear(20, 4)
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit = lambda X, y: xn.fit(model, (X, y), optimizer=opt, epochs=1, progress=False)
    Xn = X.copy()
    Xn[3, 4] = np.nan
    with pytest.raises(ValueError, match="X: contains 1 NaN"):
        fit(Xn, y)
    with pytest.raises(ValueError, match=r"y: expected labels in 0..3, got values in 0..7"):
        xn.fit(model, xn.data.ArrayDataset(X, np.r_[y[:-1], 7], num_classes=4), optimizer=opt, progress=False)
    # float targets are regression targets: with cross-entropy fit says what it expects
    with pytest.raises(TypeError, match="y: expected integer class labels for a classification loss.*loss='mse'"):
        fit(X, y.astype("float32"))
    with pytest.raises(TypeError, match="y: expected integer class labels or float regression targets"):
        fit(X, y.astype(bool))
    with pytest.raises(ValueError, match="y: expected 20 labels"):
        fit(X, y[:10])
    with pytest.raises(ValueError, match="input has 5 features"):
        fit(X[:, :5], y)
    with pytest.raises(ValueError, match="batch_size"):
        xn.data.DataLoader(xn.data.ArrayDataset(X, y), batch_size=0)


def test_dataloader_device_slices_seeded_and_drop_last(backend):
    X, y = _data(50)
    ds = xn.data.ArrayDataset(X, y)
    a = [host(yb).copy() for _, yb in xn.data.DataLoader(ds, 16, shuffle=True, seed=3)]
    b = [host(yb).copy() for _, yb in xn.data.DataLoader(ds, 16, shuffle=True, seed=3)]
    assert [len(v) for v in a] == [16, 16, 16, 2]
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert sorted(np.concatenate(a)) == sorted(y)
    assert len(list(xn.data.DataLoader(ds, 16, drop_last=True))) == 3
    xb, _ = next(iter(xn.data.DataLoader(ds, 16)))
    assert xn.backend.backend_of(xb).name == backend.name


# -- metrics --------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_metrics_equal_sklearn(backend, seed):
    from sklearn import metrics as skm

    r = np.random.default_rng(seed)
    yt = r.integers(0, 6, 80)
    yp = np.where(r.random(80) < 0.5, yt, r.integers(0, 5, 80))  # class 5 never predicted
    t, p = xn.asarray(yt), xn.asarray(yp)
    M = xn.metrics
    assert float(host(M.accuracy(t, p))) == pytest.approx(skm.accuracy_score(yt, yp))
    np.testing.assert_array_equal(host(M.confusion_matrix(t, p, 6)), skm.confusion_matrix(yt, yp, labels=range(6)))
    for avg in ("macro", "weighted", "micro", None):
        for ours, ref in ((M.precision, skm.precision_score), (M.recall, skm.recall_score), (M.f1_score, skm.f1_score)):
            np.testing.assert_allclose(host(ours(t, p, avg)), ref(yt, yp, average=avg, zero_division=0), rtol=1e-6)
    scores = np.eye(6)[yp] + 0.01 * r.random((80, 6))
    assert float(host(M.accuracy(t, xn.asarray(scores)))) == pytest.approx(skm.accuracy_score(yt, yp))
    report = M.classification_report(t, p)
    assert report.split() == skm.classification_report(yt, yp, digits=4, zero_division=0).split()


# -- preprocessing ----------------------------------------------------------------------------------
def test_scalers_and_split_agree_with_sklearn(backend):
    from sklearn import preprocessing as skp

    X, y = _data(100)
    X[:, 3] = 7.0  # a constant feature
    Xt, _ = _data(30, seed=5)
    for ours, ref in ((xn.preprocessing.StandardScaler(), skp.StandardScaler()),
                      (xn.preprocessing.MinMaxScaler((-1, 1)), skp.MinMaxScaler((-1, 1)))):
        ours.fit(xn.asarray(X))
        ref.fit(X)
        np.testing.assert_allclose(host(ours.transform(xn.asarray(Xt))), ref.transform(Xt), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(host(xn.preprocessing.one_hot(xn.asarray(y), 4)), np.eye(4)[y])
    a, b, ya, yb = xn.preprocessing.train_test_split(xn.asarray(X), xn.asarray(y), test_size=0.25, seed=0, stratify=True)
    assert a.shape[0] + b.shape[0] == 100
    counts, test_counts = np.bincount(y, minlength=4), np.bincount(host(yb), minlength=4)
    np.testing.assert_array_equal(test_counts, np.round(counts * 0.25))


def test_stratified_split_keeps_the_rows_original_order(backend):
    """The parts of a stratified split are not grouped by class: each keeps the input's row order."""
    y = np.tile(np.arange(4), 25)  # classes interleaved 0 1 2 3 0 1 ...
    X = np.arange(100, dtype=np.float32)[:, None]
    a, b, ya, yb = xn.preprocessing.train_test_split(xn.asarray(X), xn.asarray(y), test_size=0.2, seed=0, stratify=True)
    for part, labels in ((host(a)[:, 0], host(ya)), (host(b)[:, 0], host(yb))):
        assert np.all(np.diff(part) > 0)  # original order
        np.testing.assert_array_equal(labels, y[part.astype(int)])
    assert len(set(host(ya)[:4].tolist())) > 1  # not one class first


# -- checkpoints ------------------------------------------------------------------------------------
def _resume_run(tmp, split):
    """10 epochs of a dropout/BN model, optionally saved after ``split`` and resumed in new objects."""
    X, y = _data(128)

    def make():
        model = nn.Sequential(nn.Linear(20, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Dropout(0.3), nn.Linear(16, 4))
        opt = optim.Adam(model.parameters(), lr=1e-2)
        return model, opt, optim.lr_scheduler.ExponentialLR(opt, 0.9)

    xn.manual_seed(7)
    model, opt, sched = make()
    if split is None:
        xn.fit(model, (X, y), optimizer=opt, scheduler=sched, epochs=10, batch_size=16, progress=False)
        return model
    xn.fit(model, (X, y), optimizer=opt, scheduler=sched, epochs=split, batch_size=16, progress=False)
    xn.save({"model": model, "optimizer": opt, "scheduler": sched, "epoch": split}, tmp / "ck")
    xn.manual_seed(999)  # the resumed process has other random state ...
    model2, opt2, sched2 = make()
    ck = xn.load(tmp / "ck.npz", model=model2, optimizer=opt2, scheduler=sched2)  # ... until it loads
    xn.fit(model2, (X, y), optimizer=opt2, scheduler=sched2, epochs=10 - ck["epoch"], batch_size=16, progress=False)
    return model2


def test_resume_is_bit_exact_on_numpy(tmp_path):
    straight, resumed = _resume_run(tmp_path, None), _resume_run(tmp_path, 5)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(host(a), host(b), err_msg=k)


def test_checkpoint_crosses_backends_and_is_pickle_free(tmp_path):
    model = nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    nn.functional.mse_loss(model(xn.asarray(np.ones((4, 5)))), xn.asarray(np.zeros((4, 3)))).backward()
    opt.step()
    path = xn.save(model, tmp_path / "m.npz", optimizer=opt, config={"note": "x"})
    with np.load(path, allow_pickle=False) as z:  # loading never needs pickle
        assert "__meta__" in z.files
    with xn.use_backend("torch"):
        m2 = nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3))
        o2 = optim.SGD(m2.parameters(), lr=0.5, momentum=0.9)
        ck = xn.load(path, model=m2, optimizer=o2)
    assert ck["config"] == {"note": "x"} and o2.param_groups[0]["lr"] == 0.1
    assert isinstance(next(iter(o2.state.values()))["momentum_buffer"], torch.Tensor)
    for a, b in zip(model.state_dict().values(), m2.state_dict().values()):
        np.testing.assert_array_equal(host(a), host(b))


def test_atomic_save_survives_crash_mid_write(tmp_path, monkeypatch):

    model = nn.Linear(3, 2)
    path = xn.save(model, tmp_path / "m.npz")
    before = path.read_bytes()

    import xpnet.io

    real_fdopen = xpnet.io.os.fdopen

    class Crashing:
        """The temporary file: the write starts, then the process 'dies' mid-write."""

        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(xpnet.io.os, "fdopen", lambda fd, mode: Crashing(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        xn.save(nn.Linear(3, 2), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_load_rejects_non_checkpoints(tmp_path):
    bad = tmp_path / "x.npz"
    np.savez(bad, a=np.ones(2))
    with pytest.raises(ValueError, match="not an xpnet checkpoint"):
        xn.load(bad)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        xn.load(tmp_path / "missing.npz")
    obj = tmp_path / "obj.npz"
    np.save(tmp_path / "o.npy", np.array([object()], dtype=object), allow_pickle=True)
    os.replace(tmp_path / "o.npy", obj)
    with pytest.raises(ValueError):
        xn.load(obj)


# -- datasets ---------------------------------------------------------------------------------------
def test_npy_dir_layout_and_errors(tmp_path):
    X, y = _data(30)
    for name, arr in (("train_data", X), ("train_label", y[:, None]), ("test_data", X[:10]), ("test_label", y[:10])):
        np.save(tmp_path / f"{name}.npy", arr)
    s = xn.datasets.load_npy_dir(tmp_path)
    assert s.y_train.shape == (30,) and s.num_classes == len(np.unique(y)) or s.num_classes == y.max() + 1
    np.save(tmp_path / "train_label.npy", y[:, None] + 0.5)
    with pytest.raises(ValueError, match="train labels .* expected integer class labels"):
        xn.datasets.load_npy_dir(tmp_path)
    (tmp_path / "test_data.npy").unlink()
    with pytest.raises(FileNotFoundError, match="lacks test_data.npy"):
        xn.datasets.load_npy_dir(tmp_path)


def test_malformed_files_get_clear_errors(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"bad.npz is not a .npz file"):
        xn.datasets.load_npz(tmp_path / "bad.npz")
    for n in ("train_data", "train_label", "test_data", "test_label"):
        (tmp_path / f"{n}.npy").write_bytes(b"xx")
    with pytest.raises(ValueError, match=r"train_data.npy is not a .npy file"):
        xn.datasets.load_npy_dir(tmp_path)
    (tmp_path / "bad.csv").write_text("a,b\n1,x\n")
    with pytest.raises(ValueError, match="is not a numeric CSV"):
        xn.datasets.load_csv(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="expected 'mnist1d', 'synthetic'"):
        xn.datasets.load_dataset(str(tmp_path / "data.parquet"))


def test_csv_and_npz_loaders(tmp_path):
    X, y = _data(40)
    rows = np.column_stack([X, y])
    np.savetxt(tmp_path / "d.csv", rows, delimiter=",", header=",".join([f"f{i}" for i in range(20)] + ["label"]))
    s = xn.datasets.load_csv(tmp_path / "d.csv", test_fraction=0.25)
    assert len(s.x_train) + len(s.x_test) == 40 and s.x_train.shape[1] == 20
    np.savez(tmp_path / "d.npz", x_train=X, y_train=y, x_test=X[:5], y_test=y[:5])
    assert len(xn.datasets.load_npz(tmp_path / "d.npz").x_test) == 5
    syn = xn.datasets.make_synthetic(100, 8, 3, seed=1, n_test=10)
    assert syn.x_train.shape == (100, 8) and syn.x_train.dtype == np.float32 and syn.y_train.max() <= 2


def test_mnist1d_offline_generation_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XPNET_CACHE", str(tmp_path))
    s = xn.datasets.load_mnist1d()
    assert s.x_train.shape == (4000, 40) and s.x_test.shape == (1000, 40) and s.num_classes == 10
    assert list(tmp_path.glob("mnist1d-*.npz"))
    np.testing.assert_array_equal(xn.datasets.load_mnist1d().x_train, s.x_train)


# -- command line -----------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "xpnet.cli.main", *args], capture_output=True, text=True)


def test_cli_train_writes_run_folder(tmp_path):
    out = _cli("train", "--epochs", "2", "--out", str(tmp_path), "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "test accuracy" in out.stdout and "Total params: 15,210" in out.stdout and "macro avg" in out.stdout
    run = next(tmp_path.iterdir())
    names = {p.name for p in run.iterdir()}
    assert {"config.json", "history.csv", "history.json", "metrics.json", "model.npz"} <= names
    assert {"curves.png", "confusion_matrix.png"} <= names
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["epochs_run"] == 2 and 0.0 <= metrics["test_accuracy"] <= 1.0


def test_cli_errors_and_info(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[train]\nepochz = 3\n")
    out = _cli("train", "--config", str(bad), "--out", str(tmp_path))
    assert out.returncode == 2 and "train.epochz: unknown key" in out.stderr
    out = _cli("train", "--dataset", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert out.returncode == 2 and "dataset" in out.stderr
    out = _cli("info")
    assert out.returncode == 0 and "numpy" in out.stdout and "cupy" in out.stdout
    assert _cli("--help").returncode == 0


CONFIGS = sorted((pathlib.Path(__file__).parent.parent / "configs").glob("*.toml"))


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_trains_one_epoch(config, tmp_path, capsys):
    from xpnet.cli.main import main

    assert main(["train", "--config", str(config), "--epochs", "1", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out
    run = next(tmp_path.iterdir())
    cfg = json.loads((run / "config.json").read_text(encoding="utf-8"))
    assert cfg["train"]["epochs"] == 1 and cfg["name"] == run.name.rsplit("-", 2)[0]
