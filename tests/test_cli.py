"""The ``xpnet`` command as a newcomer meets it: through subprocesses, with and without a terminal."""
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import xpnet as xn

ROOT = pathlib.Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("XPNET_BACKEND", None)
    env.update(extra)
    return env


def cli(*args, env=None, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "xpnet.cli.main", *map(str, args)], capture_output=True, text=True,
                          env=env or _env(), cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small learnable 3-class problem as an .npz (300 train / 90 test rows, 10 features)."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 10)).astype(np.float32) * 0.8

    def make(n):
        y = rng.integers(0, 3, n)
        return (centers[y] + rng.standard_normal((n, 10)).astype(np.float32) * 2 + 5).astype(np.float32), y

    (xtr, ytr), (xte, yte) = make(300), make(90)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    return path


def _run_dir(parent):
    runs = [p for p in pathlib.Path(parent).iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


BASE = ["--epochs", "3", "--model", "mlp:16", "--batch-size", "32"]


def test_piped_output_has_one_line_per_epoch_and_held_out_validation(tiny, tmp_path):
    out = cli("train", "--dataset", tiny, *BASE, "--out", tmp_path)
    assert out.returncode == 0, out.stderr
    lines = [l for l in out.stdout.splitlines() if l.startswith("epoch ")]
    assert [l.split()[1] for l in lines] == ["1/3", "2/3", "3/3"]
    assert all(len(l) <= 80 and "| val loss" in l and "| lr 0.01" in l for l in lines), lines
    assert "validation 30 rows (a stratified 10% of the training data, seed 0)" in out.stdout
    assert "(N, 16)" in out.stdout and "(2, 16)" not in out.stdout  # summary: batch dimension as N
    run = _run_dir(tmp_path)
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert (run / "classification_report.txt").read_text(encoding="utf-8").startswith("classification report: test split (90 rows")
    assert "epoch,loss,accuracy,val_loss,val_accuracy,lr" in (run / "history.csv").read_text(encoding="utf-8")
    assert m["splits"] == {"train": 270, "validation": 30, "test": 90}
    assert m["validation_accuracy"] is not None and m["epochs_run"] == 3 and 1 <= m["best_epoch"] <= 3
    for key in ("test_accuracy", "test_loss", "train_accuracy", "train_loss", "validation_loss", "train_seconds",
                "inference_seconds", "parameters", "backend", "run_dir"):
        assert key in m, key
    h = json.loads((run / "history.json").read_text(encoding="utf-8"))["history"]
    assert len(h["val_loss"]) == 3


def test_terminal_shows_a_bar_that_fits_80_columns(tiny, tmp_path):
    """In a pseudo-terminal: a progress bar (no per-epoch lines) whose redraws fit in 80 columns with
    every metric whole."""
    import pty

    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120-column terminal
    p = subprocess.Popen([sys.executable, "-m", "xpnet.cli.main", "train", "--dataset", str(tiny), *BASE,
                          "--out", str(tmp_path)], stdin=slave, stdout=slave, stderr=slave,
                         env=_env(COLUMNS="120"), close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert p.wait(timeout=300) == 0
    os.close(master)
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    frames = [f for f in re.split(r"[\r\n]+", text) if "|" in f and "/3" in f and "lr" in f]
    assert frames, text[-2000:]
    assert all(len(f.rstrip()) <= 80 for f in frames), max(frames, key=len)
    assert any(re.search(r"3/3 \|.+\| .* loss \d\.\d{3} acc \d+\.\d% val \d\.\d{3} \d+\.\d% lr 1\.0e-02", f)
               for f in frames), frames
    assert not re.search(r"^epoch 1/3", text, re.M)


def test_xpnet_backend_environment_variable_is_used_by_train(tiny, tmp_path):
    out = cli("train", "--dataset", tiny, *BASE, "--out", tmp_path, env=_env(XPNET_BACKEND="array_api_strict"))
    assert out.returncode == 0, out.stderr
    assert "backend: array_api_strict" in out.stdout
    assert json.loads((_run_dir(tmp_path) / "metrics.json").read_text(encoding="utf-8"))["backend"].startswith("array_api_strict")
    # --backend wins over the environment
    out = cli("train", "--dataset", tiny, *BASE, "--backend", "numpy", "--out", tmp_path / "b",
              env=_env(XPNET_BACKEND="array_api_strict"))
    assert out.returncode == 0 and "backend: numpy" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["--config", "no/such/file.toml"], "no such file or packaged config 'no/such/file.toml'"),
    (["--dataset", "no/such/folder"], "data.dataset: no/such/folder does not exist"),
    (["--set", 'train.lr="0.003"'], "train.lr: expected a number, got '0.003' (str)"),
    (["--set", "train.epochz=3"], "train.epochz: unknown key; valid keys in [train]"),
    (["--backend", "cupy"], "backend 'cupy'"),
    (["--backend", "torch:cuda"], "torch sees no CUDA GPU"),
    (["--resume", "no/such/run"], "no/such/run"),
])
def test_expected_failures_print_one_line_and_exit_2(args, message, tiny, tmp_path):
    out = cli("train", "--dataset", tiny, "--epochs", "1", *args, "--out", tmp_path)
    if "--backend" in args and out.returncode == 0:
        pytest.skip(f"{args[1]} is available here: nothing to refuse")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.startswith("xpnet train: error: ") and message in out.stderr, out.stderr
    if args[0] == "--dataset":
        debug = cli("train", "--dataset", tiny, "--epochs", "1", *args, "--out", tmp_path, "--debug")
        assert debug.returncode != 0 and "Traceback" in debug.stderr and message in debug.stderr


@pytest.mark.parametrize("spec", ["cupy", "nonsense"])
def test_info_reports_never_crashes_and_lists_fast_paths(spec):
    from xpnet.backend import fast_numpy

    out = cli("info", env=_env(XPNET_BACKEND=spec, XPNET_FAST="0" if spec == "nonsense" else "1"))
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "backends:" in out.stdout and "fast paths:" in out.stdout and f"XPNET_BACKEND={spec}" in out.stdout
    if spec == "nonsense" or f"active: {spec}:" not in out.stdout:
        assert "active: unavailable" in out.stdout
    assert "numba GELU kernels (numpy)" in out.stdout
    if spec == "nonsense":
        assert "off (XPNET_FAST=0)" in out.stdout
    else:
        assert ("active (numba" in out.stdout) == fast_numpy.AVAILABLE


def test_xpnet_fast_0_runs_the_pure_array_api_path(tmp_path):
    """XPNET_FAST=0: GELU takes the generic path (no numba kernel) and agrees with the fast one."""
    code = ("import numpy as np, xpnet as xn\n"
            "from xpnet.backend import ops\n"
            "x = xn.asarray(np.linspace(-5, 5, 4096, dtype=np.float32).reshape(64, 64))\n"
            "print(ops.gelu_fast_path(xn.get_backend().xp, x) is None)\n"
            "np.save('out.npy', xn.to_numpy(xn.nn.GELU()(x)))\n")
    results = {}
    for fast in ("0", "1"):
        d = tmp_path / fast
        d.mkdir()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=d,
                             env=_env(XPNET_FAST=fast))
        assert out.returncode == 0, out.stderr
        results[fast] = (out.stdout.strip(), np.load(d / "out.npy"))
    assert results["0"][0] == "True"
    np.testing.assert_allclose(results["0"][1], results["1"][1], rtol=1e-5, atol=1e-6)


def test_synthetic_dataset_says_its_labels_are_random():
    assert "random labels" in " ".join(cli("train", "--help").stdout.split())
    from xpnet.config.run import SYNTHETIC_NOTE

    assert "random labels" in SYNTHETIC_NOTE


@pytest.mark.slow
def test_synthetic_dataset_note_at_run_time(tmp_path):
    out = cli("train", "--dataset", "synthetic", "--epochs", "1", "--set", "train.batch_size=1000", "--out", tmp_path)
    assert out.returncode == 0, out.stderr
    assert "random features with random labels" in out.stdout


def test_set_overrides_any_key_and_configs_are_listed_and_found_by_name(tiny, tmp_path):
    out = cli("train", "--dataset", tiny, "--config", "mnist1d_best", "--epochs", "1", "--set", "train.weight_decay=1e-4",
              "--set", "model.dropout=0.1", "--set", "model.hidden=[16, 16]", "--out", tmp_path)
    assert out.returncode == 0, out.stderr
    cfg = json.loads((_run_dir(tmp_path) / "config.json").read_text(encoding="utf-8"))
    assert cfg["name"] == "mnist1d-best" and cfg["train"]["weight_decay"] == 1e-4 and cfg["model"]["dropout"] == 0.1
    assert cfg["model"]["hidden"] == [16, 16] and cfg["train"]["epochs"] == 1
    listing = cli("configs")
    assert listing.returncode == 0 and "mnist1d_best" in listing.stdout and "report000" in listing.stdout


def test_run_files_follow_the_umask(tiny, tmp_path):
    out = subprocess.run([sys.executable, "-m", "xpnet.cli.main", "train", "--dataset", str(tiny), *BASE,
                          "--out", str(tmp_path)], capture_output=True, text=True, env=_env(),
                         preexec_fn=lambda: os.umask(0o022))
    assert out.returncode == 0, out.stderr
    modes = {p.name: p.stat().st_mode & 0o777 for p in _run_dir(tmp_path).iterdir()}
    assert set(modes.values()) == {0o644}, modes
    old = os.umask(0o027)
    try:
        from xpnet.io import write_atomic

        write_atomic(tmp_path / "y.txt", "hi")
    finally:
        os.umask(old)
    assert (tmp_path / "y.txt").stat().st_mode & 0o777 == 0o640


def test_eval_reproduces_the_reported_test_accuracy_and_predict_writes_classes(tiny, tmp_path):
    out = cli("train", "--dataset", tiny, *BASE, "--set", "data.standardize=true", "--set", "model.dropout=0.2",
              "--set", "model.norm=\"batchnorm\"", "--out", tmp_path)
    assert out.returncode == 0, out.stderr
    run = _run_dir(tmp_path)
    names = {p.name for p in run.iterdir()}
    assert {"config.json", "model.npz", "checkpoint.npz", "preprocessing.npz", "history.json", "history.csv",
            "metrics.json", "classification_report.txt", "curves.png", "confusion_matrix.png"} <= names
    from xpnet.config import RUN_FILES

    assert names <= set(RUN_FILES)  # every file it writes is documented
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    from xpnet.config import evaluate_run

    again = evaluate_run(run, quiet=True)
    assert again["test_accuracy"] == m["test_accuracy"] and again["test_loss"] == m["test_loss"]
    ev = cli("eval", run)
    assert ev.returncode == 0 and f"test accuracy {m['test_accuracy']:.4f}" in ev.stdout, ev.stdout + ev.stderr
    # library: load_run gives the model and the fitted scaler
    r = xn.load_run(run)
    assert r.scaler is not None and r.config["data"]["standardize"] and r.metrics["test_accuracy"] == m["test_accuracy"]
    with np.load(tiny) as z:
        xte, yte = z["x_test"], z["y_test"]
    np.save(tmp_path / "x.npy", xte)
    pr = cli("predict", run, "--input", tmp_path / "x.npy", "--output", tmp_path / "p.npy")
    assert pr.returncode == 0, pr.stderr
    preds = np.load(tmp_path / "p.npy")
    assert preds.dtype == np.int64 and preds.shape == (90,)
    assert float((preds == yte).mean()) == m["test_accuracy"]
    np.testing.assert_array_equal(preds, xn.to_numpy(r.predict(xte)))
    # without the scaler the predictions would differ: the preprocessing really is applied
    raw = xn.to_numpy(xn.predict(r.model, xn.asarray(xte)))
    assert not np.array_equal(raw, preds)
    # eval --dataset: another dataset's test split (here: the training rows as a test split)
    with np.load(tiny) as z:
        np.savez(tmp_path / "other.npz", x_train=z["x_test"], y_train=z["y_test"], x_test=z["x_train"],
                 y_test=z["y_train"])
        xtr, ytr = z["x_train"], z["y_train"]
    other = evaluate_run(run, tmp_path / "other.npz", quiet=True)
    assert other["rows"] == 300 and other["test_accuracy"] == float((xn.to_numpy(r.predict(xtr)) == ytr).mean())
    ev2 = cli("eval", run, "--dataset", tmp_path / "other.npz")
    assert ev2.returncode == 0 and f"test accuracy {other['test_accuracy']:.4f}" in ev2.stdout
    np.savez(tmp_path / "wide.npz", x_train=np.zeros((4, 11), np.float32), y_train=np.zeros(4, np.int64),
             x_test=np.zeros((4, 11), np.float32), y_test=np.zeros(4, np.int64))
    wide = cli("eval", run, "--dataset", tmp_path / "wide.npz")
    assert wide.returncode == 2 and "has 11 features; the run was trained on 10" in wide.stderr
    bad = cli("predict", run, "--input", tmp_path / "missing.npy", "--output", tmp_path / "q.npy")
    assert bad.returncode == 2 and "does not exist" in bad.stderr


class _Interrupt:
    def __init__(self, after):
        self.after = after

    def on_epoch_end(self, epoch, logs, model):
        if epoch + 1 == self.after:
            raise KeyboardInterrupt


def test_resume_continues_exactly(tiny, tmp_path):
    """A 4-epoch run interrupted after epoch 2, resumed by ``xpnet train --resume`` in a new process, ends
    bitwise where 4 straight epochs do (shuffle, dropout, BatchNorm, AdamW, cosine schedule, scaler,
    early stopping counters)."""
    from xpnet.config import load_config, run_training

    cfg = load_config({"data": {"dataset": str(tiny), "standardize": True},
                       "model": {"hidden": [16, 16], "dropout": 0.3, "norm": "batchnorm"},
                       "train": {"epochs": 4, "batch_size": 32, "optimizer": "adamw", "shuffle": True,
                                 "scheduler": "cosine", "backend": "numpy", "early_stopping": 3}})
    straight = run_training(cfg, tmp_path / "a", quiet=True)
    with pytest.raises(KeyboardInterrupt):  # during epoch 3's end: checkpoint.npz holds epoch 2
        run_training(cfg, tmp_path / "b", quiet=True, callbacks=[_Interrupt(3)])
    assert not (tmp_path / "b" / "metrics.json").exists() and xn.load(tmp_path / "b" / "checkpoint.npz")["epoch"] == 2
    c = cli("train", "--resume", tmp_path / "b")
    assert c.returncode == 0, c.stderr
    assert "resuming" in c.stdout and "epoch 3/4" in c.stdout and "epoch 2/4" not in c.stdout
    wa, wb = xn.load(tmp_path / "a" / "model.npz"), xn.load(tmp_path / "b" / "model.npz")
    assert wa["epoch"] == wb["epoch"] == 4
    for k in wa["model"]:
        np.testing.assert_array_equal(wa["model"][k], wb["model"][k], err_msg=k)
    ha = json.loads((tmp_path / "a" / "history.json").read_text(encoding="utf-8"))["history"]
    hb = json.loads((tmp_path / "b" / "history.json").read_text(encoding="utf-8"))["history"]
    assert ha["loss"] == hb["loss"] and ha["val_loss"] == hb["val_loss"] and ha["lr"] == hb["lr"]
    resumed = json.loads((tmp_path / "b" / "metrics.json").read_text(encoding="utf-8"))
    assert resumed["test_accuracy"] == straight["test_accuracy"] and resumed["epochs_run"] == 4
    again = cli("train", "--resume", tmp_path / "b")
    assert again.returncode == 2 and "has finished" in again.stderr and "--epochs N with N > 4" in again.stderr
    changed = cli("train", "--resume", tmp_path / "b", "--set", "train.lr=0.5")
    assert changed.returncode == 2 and "cannot change except train.epochs" in changed.stderr


def test_bench_respects_workloads_and_rounds_and_rejects_unknown(tmp_path):
    out = cli("bench", "--quick", "--workloads", "W2", "--rounds", "1", "--rows", "300", "--no-torch",
              "--out", tmp_path, "--name", "t")
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert list(data["results"]) == ["W2"] and data["meta"]["rounds"] == 1 and data["meta"]["rows"] == 300
    assert not (tmp_path / "t.png").exists() and "no chart" in out.stderr  # nothing to compare with: no empty chart
    bad = cli("bench", "--quick", "--workloads", "W9", "--out", tmp_path)
    assert bad.returncode == 2 and "--workloads: unknown ['W9']" in bad.stderr and "Traceback" not in bad.stderr


def test_configs_ship_inside_the_wheel(tmp_path):
    """A plain (non-editable) install has the configs: build the wheel, install it to a folder, and run
    ``xpnet train --config mnist1d_best`` from there (outside the repository)."""
    pytest.importorskip("setuptools")
    whl = tmp_path / "whl"
    b = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(whl),
                        str(ROOT)], capture_output=True, text=True, cwd=tmp_path)
    assert b.returncode == 0, b.stderr[-3000:]
    wheel = next(whl.glob("xpnet-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "xpnet/configs/mnist1d_best.toml" in names and "xpnet/config/__init__.py" in names
    site = tmp_path / "site"
    i = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                       capture_output=True, text=True)
    assert i.returncode == 0, i.stderr[-3000:]
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("XPNET_BACKEND", None)
    where = subprocess.run([sys.executable, "-c", "import xpnet; print(xpnet.__file__)"], capture_output=True,
                           text=True, env=env, cwd=tmp_path)
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    out = subprocess.run([sys.executable, "-m", "xpnet.cli.main", "configs"], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert "mnist1d_best" in out.stdout and str(site) in out.stdout, out.stdout + out.stderr
    data = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x_train=rng.standard_normal((64, 4), dtype=np.float32), y_train=rng.integers(0, 2, 64),
             x_test=rng.standard_normal((16, 4), dtype=np.float32), y_test=rng.integers(0, 2, 16))
    out = subprocess.run([sys.executable, "-m", "xpnet.cli.main", "train", "--config", "mnist1d_best", "--epochs", "1",
                          "--dataset", str(data), "--set", "model.hidden=[8, 8]", "--out", str(tmp_path / "runs")],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "test accuracy" in out.stdout
