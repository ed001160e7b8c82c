"""Experiments: spec validation, expansion, outputs, resume after a kill, failed runs, executors
(serial, local processes, Dask LocalCluster, an existing Dask scheduler) giving identical numbers."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import xpnet as xn
from xpnet.experiments import load_spec, parse_spec, runs_for, variants

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """400 rows × 8 features, 3 classes (a linear rule): fast runs."""
    d = tmp_path_factory.mktemp("data")
    r = np.random.default_rng(0)
    X = r.standard_normal((400, 8)).astype("float32")
    y = (X @ r.standard_normal((8, 3))).argmax(1)
    p = d / "tiny.npz"
    np.savez(p, x_train=X[:300], y_train=y[:300], x_test=X[300:], y_test=y[300:])
    yr = (np.sin(X[:, 0]) + X[:, 1] * X[:, 2]).astype("float32")
    pr = d / "tiny_reg.npz"
    np.savez(pr, x_train=X[:300], y_train=yr[:300], x_test=X[300:], y_test=yr[300:])
    return {"cls": str(p), "reg": str(pr)}


def base(data, epochs=3, **train):
    return {"data": {"dataset": data, "standardize": True, "validation_split": 0.2},
            "model": {"hidden": [16], "activation": "gelu"},
            "train": {"epochs": epochs, "optimizer": "sgd", "lr": 0.05, "batch_size": 32, "shuffle": True, **train}}


def write_toml(path, text):
    path.write_text(text)
    return path


def sweep(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "xpnet.cli.main", "sweep", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


# ------------------------------------------------------------------ spec

def test_issue_shape_parses_and_expands(tmp_path, tiny):
    f = write_toml(tmp_path / "e.toml", f'''
name = "report000-lr"
seeds = [0, 1, 2]
[base.data]
dataset = "{tiny['cls']}"
standardize = true
[base.model]
hidden = [256]
activation = "gelu"
[base.train]
epochs = 30
optimizer = "sgd"
[grid]
"train.lr" = [0.1, 0.05, 0.01, 0.001]
''')
    spec = load_spec(f)
    assert spec.kind == "grid" and spec.seeds == [0, 1, 2] and spec.metric == "validation_accuracy"
    vs = variants(spec)
    assert [v.value for v in vs] == [0.1, 0.05, 0.01, 0.001]
    runs = [r for v in vs for r in runs_for(spec, v)]
    assert len(runs) == 12 and len({r.key for r in runs}) == 12
    assert {r.config["train"]["seed"] for r in runs} == {0, 1, 2}
    assert all(r.config["train"]["lr"] == r.variant.value for r in runs)


def test_grid_product_and_vary_share_identical_configs(tiny):
    spec = parse_spec({"base": base(tiny["cls"]), "grid": {"train.lr": [0.1, 0.01], "model.hidden": [[8], [16], [32]]}})
    assert len(variants(spec)) == 6
    spec = parse_spec({"base": base(tiny["cls"]), "vary": {"train.lr": [0.05, 0.01], "train.batch_size": [32, 64]}})
    vs = variants(spec)
    assert [v.factor for v in vs] == ["train.lr"] * 2 + ["train.batch_size"] * 2
    keys = [runs_for(spec, v)[0].key for v in vs]
    # lr=0.05 and batch_size=32 are both the base config: one run, not two
    assert keys[0] == keys[2] and len(set(keys)) == 3


@pytest.mark.parametrize("raw, err, match", [
    ({"grid": {"train.lrr": [0.1]}}, ValueError, r"train\.lrr.*valid.*lr"),
    ({"grid": {"model.hiden": [[4]]}}, ValueError, r"model\.hiden.*hidden"),
    ({"grid": {"trian.lr": [0.1]}}, ValueError, r"trian\.lr"),
    ({"grid": {"train.lr": ["fast"]}}, ValueError, r"train\.lr: expected a number"),
    ({"grid": {"train.lr": 0.1}}, TypeError, r"non-empty list"),
    ({"grid": {"train.lr": [0.1]}, "vary": {"train.lr": [0.1]}}, ValueError, "exactly one study"),
    ({}, ValueError, "exactly one study"),
    ({"grid": {"train.lr": [0.1]}, "sedes": [0]}, ValueError, r"sedes.*valid keys"),
    ({"grid": {"train.lr": [0.1]}, "seeds": [0, 0]}, ValueError, "repeated"),
    ({"grid": {"train.seed": [1, 2]}}, ValueError, "seeds"),
    ({"steps": [{"name": "a", "set": {"model.norm": "batchnorm"}}, {"name": "a"}]}, ValueError, "used twice"),
    ({"steps": [{"name": "a", "set": {"model.dropuot": 0.1}}]}, ValueError, r"model\.dropuot"),
    ({"variants": [{"name": "a", "sett": {}}]}, ValueError, r"sett.*valid keys"),
])
def test_spec_errors_name_the_key(tiny, raw, err, match):
    with pytest.raises(err, match=match):
        parse_spec({"base": base(tiny["cls"]), **raw})


def test_base_may_be_a_config_path(tmp_path):
    f = write_toml(tmp_path / "e.toml", 'base = "../../configs/report000.toml"\n[vary]\n"train.lr" = [0.1]\n')
    (tmp_path / "a" / "b").mkdir(parents=True)
    g = tmp_path / "a" / "b" / "e.toml"
    g.write_text(f.read_text(encoding="utf-8").replace("../../configs", str(ROOT / "configs")))
    spec = load_spec(g)
    assert spec.base["model"]["hidden"] == [256, 256] and spec.base["train"]["optimizer"] == "sgd"


# ------------------------------------------------------------------ outputs, resume, failures

def test_sweep_writes_every_output_and_resumes(tmp_path, tiny):
    spec = {"name": "t", "seeds": [0, 1], "base": base(tiny["cls"]), "vary": {"train.lr": [0.2, 0.01],
                                                                            "model.dropout": [0.0, 0.3]}}
    res = xn.experiments.run(spec, tmp_path / "exp", progress=False, quiet=True)
    assert res.executed == 8 and res.skipped == 0 and res.failed == 0 and len(res.rows) == 8
    out = tmp_path / "exp"
    for name in ("results.csv", "results.json", "table.md", "report.html", "experiment.json"):
        assert (out / name).stat().st_size > 0, name
    figs = sorted(p.name for p in (out / "figures").iterdir())
    assert figs == ["curves_dropout.png", "curves_lr.png", "metric_dropout.png", "metric_lr.png"]
    rows = json.loads((out / "results.json").read_text(encoding="utf-8"))
    need = {"overrides", "seed", "train_accuracy", "train_loss", "validation_accuracy", "validation_loss",
            "test_accuracy", "test_loss", "best_epoch", "epochs_run", "train_seconds", "inference_seconds",
            "parameters", "status"}
    assert need <= set(rows[0]) and "history" not in rows[0]
    header = (out / "results.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert need <= set(header)
    for r in rows:  # each run folder is an ordinary run folder
        assert {"config.json", "history.json", "metrics.json", "model.npz", "result.json"} <= {
            p.name for p in (out / r["run_dir"]).iterdir()}
    table = (out / "table.md").read_text(encoding="utf-8")
    assert sum("★" in line for line in table.splitlines() if line.startswith("|")) == 2 and "## train.lr" in table and " ± " in table  # one best per factor
    best = res.best()
    assert best["stats"]["validation_accuracy"][0] == max(v["stats"]["validation_accuracy"][0] for v in res.summary)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 4 and "src='http" not in html and "<table>" in html
    again = xn.experiments.run(spec, tmp_path / "exp", progress=False, quiet=True)
    assert again.executed == 0 and again.skipped == 8
    log = json.loads((out / "invocations.json").read_text(encoding="utf-8"))
    assert [(h["executed"], h["skipped"]) for h in log] == [(8, 0), (0, 8)]
    assert "8 executed, 0 skipped" in (out / "report.html").read_text(encoding="utf-8")  # the report keeps the first invocation
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == rows or all(
        a["test_loss"] == b["test_loss"] for a, b in zip(rows, json.loads((out / "results.json").read_text(encoding="utf-8"))))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_failed_run_is_recorded_and_others_go_on(tmp_path, tiny):
    b = base(tiny["cls"], epochs=2)
    b["model"]["activation"] = "relu"
    spec = {"name": "f", "seeds": [0], "base": b, "grid": {"train.lr": [0.05, 1e30]}}
    res = xn.experiments.run(spec, tmp_path / "f", progress=False, quiet=True)
    by = {r["variant"]: r for r in res.rows}
    assert by["lr=0.05"]["status"] == "ok" and by["lr=1e+30"]["status"] == "failed"
    assert "non-finite" in by["lr=1e+30"]["error"]
    assert res.failed == 1 and "non-finite" in (tmp_path / "f" / "table.md").read_text(encoding="utf-8")
    csv = (tmp_path / "f" / "results.csv").read_text(encoding="utf-8")
    assert "failed" in csv and "NonFiniteLossError" in csv
    # a failed run is finished: skipped on re-run unless asked
    assert xn.experiments.run(spec, tmp_path / "f", progress=False, quiet=True).executed == 0
    assert xn.experiments.run(spec, tmp_path / "f", progress=False, quiet=True, retry_failed=True).executed == 1


def _slow_spec(tmp_path, tiny, n=6):
    lrs = ", ".join(str(0.01 * (i + 1)) for i in range(n))
    return write_toml(tmp_path / "slow.toml", f'''
name = "slow"
seeds = [0]
[base.data]
dataset = "{tiny['cls']}"
validation_split = 0.2
[base.model]
hidden = [64, 64]
[base.train]
epochs = 60
batch_size = 8
optimizer = "sgd"
[grid]
"train.lr" = [{lrs}]
''')


def _finished(out):
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*/result.json")} if (out / "runs").exists() else {}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_sweep_stopped_half_way_resumes_without_redoing(tmp_path, tiny, sig):
    f = _slow_spec(tmp_path, tiny)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "xpnet.cli.main", "sweep", str(f), "--out", str(out), "--no-progress"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while len(_finished(out)) < 2 and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    before = _finished(out)
    assert 2 <= len(before) < 6, "the sweep should have been stopped half-way"
    if sig == signal.SIGINT:
        assert p.returncode == 130 and "interrupted" in err
        rows = json.loads((out / "results.json").read_text(encoding="utf-8"))  # the finished runs are tabulated
        assert len(rows) == len(before) and all(r["status"] == "ok" for r in rows)
    r = sweep(f, "--out", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert f"skipping {len(before)} finished run(s)" in r.stdout
    after = _finished(out)
    assert len(after) == 6
    assert all(after[k] == v for k, v in before.items())  # finished runs were not redone
    assert r.stdout.count("seed 0:") == 6 - len(before)
    assert len(json.loads((out / "results.json").read_text(encoding="utf-8"))) == 6


# ------------------------------------------------------------------ executors

def _metrics(out):
    rows = json.loads((pathlib.Path(out) / "results.json").read_text(encoding="utf-8"))
    keys = ("train_accuracy", "train_loss", "validation_accuracy", "validation_loss", "test_accuracy", "test_loss",
            "best_epoch", "epochs_run", "parameters")
    return {(r["variant"], r["seed"]): tuple(r[k] for k in keys) for r in rows}


@pytest.mark.slow
def test_same_numbers_serial_processes_dask_and_scheduler(tmp_path, tiny):
    pytest.importorskip("dask.distributed")
    f = write_toml(tmp_path / "e.toml", f'''
name = "exec"
seeds = [0, 1]
[base.data]
dataset = "{tiny['cls']}"
validation_split = 0.2
standardize = true
[base.model]
hidden = [16]
dropout = 0.1
[base.train]
epochs = 3
optimizer = "adam"
lr = 0.01
shuffle = true
batch_size = 32
[grid]
"model.activation" = ["relu", "gelu"]
''')
    r = sweep(f, "--out", tmp_path / "serial", "--no-progress")
    assert r.returncode == 0, r.stderr
    r = sweep(f, "--out", tmp_path / "procs", "--workers", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "processes: 2 workers" in r.stdout and "BLAS thread(s) each" in r.stdout
    r = sweep(f, "--out", tmp_path / "dask", "--dask", "--dask-workers", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "dask: LocalCluster" in r.stdout and "2 worker(s)" in r.stdout
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        r = sweep(f, "--out", tmp_path / "sched", "--scheduler", cluster.scheduler_address, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert f"scheduler {cluster.scheduler_address}" in r.stdout
    ref = _metrics(tmp_path / "serial")
    assert len(ref) == 4
    for name in ("procs", "dask", "sched"):
        assert _metrics(tmp_path / name) == ref, name  # bitwise: same floats


# ------------------------------------------------------------------ studies

def test_steps_adopt_only_if_better(tmp_path, tiny):
    spec = {"name": "road", "seeds": [0, 1], "base": base(tiny["cls"], epochs=4), "adopt_if_better": True,
            "steps": [{"name": "base"},
                      {"name": "tiny lr", "set": {"train.lr": 1e-6}},
                      {"name": "wider", "set": {"model.hidden": [32]}},
                      {"name": "always", "set": {"train.lr": 1e-6}, "adopt_if_better": False}]}
    res = xn.experiments.run(spec, tmp_path / "road", progress=False, quiet=True)
    by = {}
    for r in res.rows:
        by.setdefault(r["variant"], []).append(r)
    assert all(r["adopted"] for r in by["base"])
    assert not any(r["adopted"] for r in by["tiny lr"])  # worse: reverted
    assert by["wider"][0]["overrides"] == {"model.hidden": [32]}  # built on the adopted steps only
    assert by["always"][0]["adopted"] and by["always"][0]["overrides"]["train.lr"] == 1e-6
    assert (tmp_path / "road" / "figures" / "roadmap.png").stat().st_size > 1000
    assert "no (reverted)" in (tmp_path / "road" / "table.md").read_text(encoding="utf-8")


def test_compare_feature_extractors_and_norms(tmp_path, tiny):
    spec = {"name": "cmp", "seeds": [0], "base": base(tiny["cls"], epochs=2),
            "variants": [{"name": "mlp"}, {"name": "cnn", "set": {"model.type": "cnn", "model.channels": [4]}},
                         {"name": "rnn", "set": {"model.type": "rnn", "model.patch": 2, "model.embed_dim": 8}},
                         {"name": "attention", "set": {"model.type": "attention", "model.patch": 2,
                                                       "model.embed_dim": 8, "model.heads": 2}},
                         {"name": "layernorm", "set": {"model.norm": "layernorm"}},
                         {"name": "no activation", "set": {"model.activation": "none"}}]}
    res = xn.experiments.run(spec, tmp_path / "cmp", progress=False, quiet=True)
    assert res.failed == 0, [r["error"] for r in res.rows]
    params = {r["variant"]: r["parameters"] for r in res.rows}
    assert len({params["mlp"], params["cnn"], params["rnn"], params["attention"]}) == 4
    assert params["layernorm"] == params["mlp"] + 32
    assert (tmp_path / "cmp" / "figures" / "metric_comparison.png").exists()


def test_regression_sweep_with_float_targets(tmp_path, tiny):
    spec = {"name": "reg", "seeds": [0, 1],
            "base": {"data": {"dataset": tiny["reg"], "task": "regression", "standardize": True, "validation_split": 0.2},
                     "model": {"hidden": [32]}, "train": {"epochs": 15, "optimizer": "adam", "lr": 0.01,
                                                          "batch_size": 32}},
            "grid": {"model.activation": ["none", "gelu"]}}
    res = xn.experiments.run(spec, tmp_path / "reg", progress=False, quiet=True)
    assert res.spec.metric == "validation_r2" and res.failed == 0
    r2 = {v["variant"]: v["stats"]["test_r2"][0] for v in res.summary}
    assert r2["activation=gelu"] > r2["activation=none"]  # the target is non-linear
    assert r2["activation=gelu"] > 0.5
    row = res.rows[0]
    assert {"test_r2", "test_rmse", "test_mae", "test_mse", "validation_r2"} <= set(row)
    assert abs(row["test_rmse"] ** 2 - row["test_mse"]) < 1e-4
    assert "test R²" in (tmp_path / "reg" / "table.md").read_text(encoding="utf-8")
