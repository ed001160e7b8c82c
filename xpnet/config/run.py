"""``run_training(cfg)``: what ``xpnet train`` does, as a function.

Config → backend → dataset (train / validation / test) → preprocessing fitted on the training rows →
model → ``fit`` (validation on a stratified, seeded ``data.validation_split`` of the training data;
the test split is not looked at) → test evaluation once at the end → a self-contained run folder
(``run_folder.FILES``). Returns the summary (also written as ``metrics.json``).
"""
from __future__ import annotations

import datetime
import json
import os
import pathlib
import time

from .. import backend as B
from ..io import write_atomic
from .loading import load_config
from .models import build_model
from .optimizers import build_optimizer, build_scheduler
from .run_folder import load_run, load_scaler, save_scaler
from .splits import stratified_indices

SYNTHETIC_NOTE = ("data.dataset = synthetic: random features with random labels (a speed test, not a learning "
                  "task: expect accuracy near 1/classes)")


def resolve_backend(spec: str) -> str:
    """``"auto"``: the ``XPNET_BACKEND`` environment variable, else ``"numpy"``."""
    if spec == "auto":
        return os.environ.get("XPNET_BACKEND", "").strip() or "numpy"
    return spec


def new_run_dir(parent, name: str) -> pathlib.Path:
    """``parent/<name>-<YYYYmmdd-HHMMSS>`` (with ``-2``, ``-3``... if that exists already)."""
    base = pathlib.Path(parent) / f"{name}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    out, i = base, 1
    while out.exists():
        i += 1
        out = base.with_name(f"{base.name}-{i}")
    return out


def _check_dataset(spec):
    if spec in ("mnist1d", "synthetic"):
        return
    if not pathlib.Path(spec).exists():
        raise FileNotFoundError(f"data.dataset: {spec} does not exist (expected mnist1d, synthetic, a folder of "
                                ".npy files, an .npz or a .csv)")


def load_splits(cfg):
    """Host arrays of the config's dataset: :class:`xpnet.datasets.Splits`."""
    from ..datasets import load_dataset

    _check_dataset(cfg["data"]["dataset"])
    return load_dataset(cfg["data"]["dataset"])


def split_validation(cfg, x, y):
    """(x_train, y_train, x_val, y_val) on the active backend: a stratified ``data.validation_split``
    of the training rows (host arrays ``x``, ``y``), seeded by ``train.seed``, the same rows on every
    backend (``splits.stratified_indices``); x_val, y_val are None when the split is 0."""
    vs = cfg["data"]["validation_split"]
    if not vs:
        return B.asarray(x), B.asarray(y), None, None
    itr, iva = stratified_indices(y, vs, cfg["train"]["seed"])
    return B.asarray(x[itr]), B.asarray(y[itr]), B.asarray(x[iva]), B.asarray(y[iva])


def _say(quiet):
    return (lambda *a, **k: None) if quiet else (lambda *a, **k: print(*a, **k, flush=True))


def run_training(cfg=None, out_dir=None, *, progress: bool = True, verbose: bool = False, quiet: bool = False,
                 resume=None, callbacks=()) -> dict:
    """Train the run ``cfg`` describes (None, a path, a packaged config name or a dict; validated by
    :func:`load_config`) and write its run folder ``out_dir`` (default ``runs/<name>-<date>-<time>``).

    Validation: a stratified ``data.validation_split`` of the training rows (seeded by ``train.seed``)
    picks the best epoch, drives early stopping and ``plateau``; the test split is evaluated once, at
    the end. ``resume``: a run folder to continue from its ``checkpoint.npz`` (same folder, same config;
    ``cfg`` may only raise ``train.epochs``; a schedule keeps the state it had; ``fit(resume=...)``).
    ``callbacks``: more ``fit`` callbacks. Returns the summary written to ``metrics.json``:
    ``test_/validation_/train_`` ``accuracy`` and ``loss``, ``best_epoch`` (1-based), ``epochs_run``,
    ``train_seconds``, ``inference_seconds``, ``parameters``, ``backend``, ``run_dir`` and more.
    """
    from .. import metrics, nn
    from ..preprocessing import StandardScaler
    from ..train import EarlyStopping, evaluate, fit, predict, save

    say = _say(quiet)
    state = None
    if resume is not None:
        cfg, out_dir, state = _resume_state(resume, cfg)
    cfg = load_config(cfg)
    if cfg["data"]["task"] == "regression" or cfg["train"]["loss"] == "mse":
        from .regression import run_regression

        return run_regression(cfg, out_dir, progress=progress, verbose=verbose, quiet=quiet)
    t, d = cfg["train"], cfg["data"]
    run_dir = pathlib.Path(out_dir) if out_dir is not None else new_run_dir("runs", cfg["name"])
    backend_name = resolve_backend(t["backend"])
    with B.use_backend(backend_name):
        B.manual_seed(t["seed"])
        t0 = time.perf_counter()
        splits = load_splits(cfg)
        say(f"dataset: {d['dataset']} ({splits.describe()}), loaded in {time.perf_counter() - t0:.1f}s")
        if d["dataset"] == "synthetic":
            say(f"note: {SYNTHETIC_NOTE}")
        xtr, ytr, xva, yva = split_validation(cfg, splits.x_train, splits.y_train)
        xte, yte = B.asarray(splits.x_test), B.asarray(splits.y_test)
        scaler = None
        if d["standardize"]:
            scaler = load_scaler(run_dir / "preprocessing.npz") if state else StandardScaler().fit(xtr)
            xtr, xte = scaler.transform(xtr), scaler.transform(xte)
            xva = scaler.transform(xva) if xva is not None else None
        n_val = 0 if xva is None else int(xva.shape[0])
        say(f"splits: train {int(xtr.shape[0])} rows, validation {n_val} rows "
            f"({'a stratified ' + format(d['validation_split'], '.0%') + ' of the training data, seed ' + str(t['seed']) if n_val else 'none'}), "
            f"test {int(xte.shape[0])} rows (evaluated once, at the end)")
        model = build_model(cfg["model"], splits.num_features, splits.num_classes)
        say(f"backend: {B.get_backend()}")
        if not quiet:
            print(model.summary((2, splits.num_features)))
        opt = build_optimizer(model.parameters(), t)
        sched = build_scheduler(opt, t)
        ckpt = run_dir / "checkpoint.npz"
        done = 0
        if state is not None:
            done = state["epoch"]
            say(f"resuming {run_dir} after epoch {done} of {t['epochs']}")
        run_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(run_dir / "config.json", json.dumps(cfg, indent=2))
        if scaler is not None and state is None:
            save_scaler(scaler, run_dir / "preprocessing.npz")
        es = EarlyStopping(patience=t["early_stopping"]) if t["early_stopping"] else None
        loss = nn.CrossEntropyLoss(label_smoothing=t["label_smoothing"])
        t1 = time.perf_counter()
        # fit writes checkpoint.npz after every epoch (model, optimiser, schedule, random streams, history,
        # early-stopping counters) and, with resume=, continues from it bitwise up to `epochs` in total
        history = fit(model, (xtr, ytr), loss=loss, optimizer=opt, epochs=t["epochs"], batch_size=t["batch_size"],
                      validation=None if xva is None else (xva, yva), scheduler=sched, early_stopping=es,
                      shuffle=t["shuffle"], progress=progress and not quiet, verbose=verbose, callbacks=list(callbacks),
                      checkpoint=ckpt, resume=ckpt if state is not None else None,
                      clip_grad_norm=t["clip_grad_norm"] or None)
        train_time = time.perf_counter() - t1
        epochs_now = history.epochs - done
        B.synchronize()
        t2 = time.perf_counter()
        pred = predict(model, xte)
        B.synchronize()
        infer_time = time.perf_counter() - t2
        test = evaluate(model, (xte, yte), loss=loss)
        train_eval = evaluate(model, (xtr, ytr), loss=loss)
        val_eval = evaluate(model, (xva, yva), loss=loss) if xva is not None else {"loss": None, "accuracy": None}
        p, r, f, _ = (float(B.to_numpy(v)) for v in metrics.precision_recall_f1(yte, pred, "macro", splits.num_classes))
        cm = B.to_numpy(metrics.confusion_matrix(yte, pred, splits.num_classes))
        report = (f"classification report: test split ({int(xte.shape[0])} rows of {d['dataset']})\n"
                  + metrics.classification_report(yte, pred, num_classes=splits.num_classes))
        summary = {
            "name": cfg["name"], "dataset": d["dataset"],
            "test_accuracy": test["accuracy"], "test_loss": test["loss"],
            "validation_accuracy": val_eval["accuracy"], "validation_loss": val_eval["loss"],
            "train_accuracy": train_eval["accuracy"], "train_loss": train_eval["loss"],
            "precision_macro": p, "recall_macro": r, "f1_macro": f,
            "best_epoch": None if history.best_epoch is None else history.best_epoch + 1,
            "best_epoch_by": "validation loss" if n_val else "training loss",
            "epochs_run": history.epochs, "train_seconds": train_time, "inference_seconds": infer_time,
            "parameters": model.num_parameters(), "backend": str(B.get_backend()),
            "splits": {"train": int(xtr.shape[0]), "validation": n_val, "test": int(xte.shape[0])},
            "data_shape": {"features": splits.num_features, "classes": splits.num_classes},
            "run_dir": str(run_dir),
        }
        if state is not None:
            summary["train_seconds_before_resume"] = state["metrics"].get("train_seconds") if state["metrics"] else None
        if not quiet:
            print()
            if n_val:
                print(f"validation accuracy {val_eval['accuracy']:.4f}  loss {val_eval['loss']:.4f}  "
                      f"(best epoch {summary['best_epoch']} of {history.epochs})")
            print(f"test accuracy {test['accuracy']:.4f}  loss {test['loss']:.4f}  macro P {p:.4f} R {r:.4f} F1 {f:.4f}")
            print(report)
            print(f"training time {train_time:.2f}s ({epochs_now} epochs, "
                  f"{train_time / max(epochs_now, 1) * 1000:.1f} ms/epoch); inference {infer_time * 1000:.1f} ms "
                  f"for {int(xte.shape[0])} rows")
        write_atomic(run_dir / "history.json", history.to_json())
        write_atomic(run_dir / "history.csv", history.to_csv())
        write_atomic(run_dir / "metrics.json", json.dumps(summary, indent=2))
        write_atomic(run_dir / "classification_report.txt", report)
        save({"model": model, "optimizer": opt, "scheduler": sched, "epoch": history.epochs, "config": cfg},
             run_dir / "model.npz")
        plots = _plots(history, cm, cfg, summary, run_dir)
        say(f"run folder: {run_dir} (config, history, metrics, model.npz, checkpoint.npz, {plots})")
    return summary


def _plots(history, cm, cfg, summary, run_dir) -> str:
    from .. import plotting

    if not plotting.available():
        return "no plots (matplotlib not installed: pip install 'xpnet[plot]')"
    title = plotting.run_title(cfg, summary)
    val_name = (f"validation ({cfg['data']['validation_split']:.0%} of train)" if summary["splits"]["validation"]
                else None)
    plotting.plot_history(history, run_dir / "curves.png", title=title, val_label=val_name,
                          lr_panel=cfg["train"]["scheduler"] != "none" or cfg["train"]["warmup_epochs"] > 0)
    plotting.plot_confusion(cm, run_dir / "confusion_matrix.png", title=f"{cfg['name']}: test split")
    return "curves.png, confusion_matrix.png"


def _resume_state(run_dir, cfg):
    """(config, run folder, {"epoch", "metrics"}) to continue ``run_dir``; ``cfg`` may be a
    dict of overrides of ``train.epochs`` only."""
    run_dir = pathlib.Path(run_dir)
    if not (run_dir / "checkpoint.npz").exists():
        raise FileNotFoundError(f"--resume: {run_dir} has no checkpoint.npz (not a run folder, or written by an "
                                "older xpnet)")
    saved = load_config(json.loads((run_dir / "config.json").read_text(encoding="utf-8")))
    planned = saved["train"]["epochs"]
    if cfg is not None:
        new = load_config(cfg)
        changed = sorted(f"{s}.{k}" for s in ("data", "model", "train") for k in saved[s]
                         if saved[s][k] != new[s][k] and f"{s}.{k}" != "train.epochs")
        if changed:
            raise ValueError(f"--resume: the run's config cannot change except train.epochs; changed: {', '.join(changed)}")
        saved["train"]["epochs"] = new["train"]["epochs"]
    from ..train import load

    meta = load(run_dir / "checkpoint.npz")
    m = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")) if (run_dir / "metrics.json").exists() else None
    if m is not None and saved["train"]["epochs"] <= planned:
        raise ValueError(f"--resume: {run_dir} has finished ({m.get('epochs_run')} epochs run, metrics.json written); "
                         f"pass --epochs N with N > {planned} to train it longer")
    return saved, run_dir, {"epoch": int(meta["epoch"]), "metrics": m}


def evaluate_run(run_dir, dataset=None, *, quiet: bool = False) -> dict:
    """Reload ``run_dir`` and evaluate it on the test split of its dataset (or ``dataset``): returns
    ``{"test_accuracy", "test_loss", "rows", "dataset"}`` (a regression run: ``test_loss``, ``test_r2``,
    ``test_rmse``, ``test_mae``, ``test_mse``); equal to the run's reported test metrics on the same data
    and backend."""
    from .. import metrics, nn
    from ..train import evaluate, predict

    run_dir = pathlib.Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    cfg = load_config(json.loads((run_dir / "config.json").read_text(encoding="utf-8"))) if (run_dir / "config.json").exists() else None
    if cfg is None:
        raise FileNotFoundError(f"{run_dir} has no config.json: not a run folder")
    if dataset is not None:
        cfg["data"]["dataset"] = dataset
    with B.use_backend(resolve_backend(cfg["train"]["backend"])):
        run = load_run(run_dir)
        if run.regression:
            from ..datasets.regression import load_regression

            splits = load_regression(cfg["data"]["dataset"])
        else:
            splits = load_splits(cfg)
        want = run.metrics["data_shape"]["features"]
        if splits.num_features != want:
            raise ValueError(f"--dataset: {cfg['data']['dataset']} has {splits.num_features} features; the run was "
                             f"trained on {want}")
        xte, yte = run.transform(splits.x_test), B.asarray(splits.y_test)
        if run.regression:
            res = evaluate(run.model, (xte, yte), loss="mse")
            out = {"test_loss": res["loss"], **{f"test_{k}": res[k] for k in ("r2", "rmse", "mae", "mse")},
                   "rows": int(xte.shape[0]), "dataset": cfg["data"]["dataset"]}
            if not quiet:
                print(f"{run_dir}: test R² {res['r2']:.4f}  RMSE {res['rmse']:.4f}  MAE {res['mae']:.4f}  on "
                      f"{out['rows']} rows of {out['dataset']}")
            return out
        res = evaluate(run.model, (xte, yte), loss=nn.CrossEntropyLoss(label_smoothing=cfg["train"]["label_smoothing"]))
        pred = predict(run.model, xte)
        report = (f"classification report: test split ({int(xte.shape[0])} rows of {cfg['data']['dataset']})\n"
                  + metrics.classification_report(yte, pred, num_classes=run.metrics["data_shape"]["classes"]))
    out = {"test_accuracy": res["accuracy"], "test_loss": res["loss"], "rows": int(xte.shape[0]),
           "dataset": cfg["data"]["dataset"]}
    if not quiet:
        print(f"{run_dir}: test accuracy {res['accuracy']:.4f}  loss {res['loss']:.4f}  on {out['rows']} rows of "
              f"{out['dataset']}")
        print(report)
    return out
