"""``run_training`` for ``data.task = "regression"`` (or ``train.loss = "mse"``): float targets, MSE,
and the regression metrics R², RMSE, MAE, MSE (:mod:`xpnet.metrics.regression`).

Same run folder as classification (config.json, history.json/csv, metrics.json, model.npz,
preprocessing.npz, curves.png), the validation rows a seeded random ``data.validation_split`` of the
training rows (no strata for continuous targets), the test split evaluated once at the end.
"""
from __future__ import annotations

import json
import pathlib
import time

from .. import backend as B
from ..io import write_atomic


def _split(cfg, x, y):
    from ..preprocessing import train_test_split

    vs = cfg["data"]["validation_split"]
    x, y = B.asarray(x), B.asarray(y)
    if not vs:
        return x, y, None, None
    xtr, xva, ytr, yva = train_test_split(x, y, test_size=vs, seed=cfg["train"]["seed"])
    return xtr, ytr, xva, yva


def run_regression(cfg, out_dir=None, *, progress=True, verbose=False, quiet=False) -> dict:
    """Train the regression run ``cfg`` (validated) describes; write ``out_dir``; return the summary."""
    from ..datasets.regression import load_regression
    from ..preprocessing import StandardScaler
    from ..train import EarlyStopping, History, evaluate, fit, predict, save
    from .models import build_model
    from .optimizers import build_optimizer, build_scheduler
    from .run import _say, new_run_dir, resolve_backend
    from .run_folder import save_scaler

    say = _say(quiet)
    t, d = cfg["train"], cfg["data"]
    run_dir = pathlib.Path(out_dir) if out_dir is not None else new_run_dir("runs", cfg["name"])
    with B.use_backend(resolve_backend(t["backend"])):
        B.manual_seed(t["seed"])
        splits = load_regression(d["dataset"])
        say(f"dataset: {d['dataset']} ({splits.describe()})")
        xtr, ytr, xva, yva = _split(cfg, splits.x_train, splits.y_train)
        xte, yte = B.asarray(splits.x_test), B.asarray(splits.y_test)
        scaler = None
        if d["standardize"]:
            scaler = StandardScaler().fit(xtr)
            xtr, xte = scaler.transform(xtr), scaler.transform(xte)
            xva = scaler.transform(xva) if xva is not None else None
        model = build_model(cfg["model"], splits.num_features, splits.num_outputs)
        opt = build_optimizer(model.parameters(), t)
        sched = build_scheduler(opt, t)
        es = EarlyStopping(patience=t["early_stopping"]) if t["early_stopping"] else None
        run_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(run_dir / "config.json", json.dumps(cfg, indent=2))
        if scaler is not None:
            save_scaler(scaler, run_dir / "preprocessing.npz")
        t1 = time.perf_counter()
        history = fit(model, (xtr, ytr), loss="mse", optimizer=opt, epochs=t["epochs"], batch_size=t["batch_size"],
                      validation=None if xva is None else (xva, yva), scheduler=sched, early_stopping=es,
                      shuffle=t["shuffle"], progress=progress and not quiet, verbose=verbose,
                      clip_grad_norm=t["clip_grad_norm"] or None)
        train_time = time.perf_counter() - t1
        B.synchronize()
        t2 = time.perf_counter()
        predict(model, xte, logits=True)
        B.synchronize()
        infer_time = time.perf_counter() - t2
        summary = {"name": cfg["name"], "dataset": d["dataset"], "task": "regression"}
        for split, data in (("test", (xte, yte)), ("validation", None if xva is None else (xva, yva)),
                            ("train", (xtr, ytr))):
            res = evaluate(model, data, loss="mse") if data is not None else {}
            for k in ("loss", "r2", "rmse", "mae", "mse"):
                summary[f"{split}_{k}"] = res.get(k)
        summary.update({
            "best_epoch": None if history.best_epoch is None else history.best_epoch + 1,
            "epochs_run": history.epochs, "train_seconds": train_time, "inference_seconds": infer_time,
            "parameters": model.num_parameters(), "backend": str(B.get_backend()),
            "splits": {"train": int(xtr.shape[0]), "validation": 0 if xva is None else int(xva.shape[0]),
                       "test": int(xte.shape[0])},
            "data_shape": {"features": splits.num_features, "outputs": splits.num_outputs},
            "run_dir": str(run_dir)})
        say(f"test R² {summary['test_r2']:.4f}  RMSE {summary['test_rmse']:.4f}  MAE {summary['test_mae']:.4f}  "
            f"(training {train_time:.2f}s, {history.epochs} epochs)")
        write_atomic(run_dir / "history.json", history.to_json())
        write_atomic(run_dir / "history.csv", history.to_csv())
        write_atomic(run_dir / "metrics.json", json.dumps(summary, indent=2))
        save({"model": model, "optimizer": opt, "scheduler": sched, "epoch": history.epochs, "config": cfg},
             run_dir / "model.npz")
        from .. import plotting

        if plotting.available():
            h = History()
            h.history, h.best_epoch = history.history, history.best_epoch
            plotting.plot_history(h, run_dir / "curves.png", title=f"{cfg['name']}: regression (MSE)")
        say(f"run folder: {run_dir}")
    return summary
