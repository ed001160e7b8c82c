"""Stand-in for the ``xpnet.config`` API (same signatures) while that package is not in this checkout:
``load_config``, ``apply_overrides`` and ``run_training`` built on ``xpnet.cli.config``/``cli.train``."""
from __future__ import annotations

import copy
import json
import pathlib
import time

from ..cli.config import DEFAULTS
from ..cli.config import load_config as _load_file
from ..nn.builders import _KEYS as _MODEL_KEYS

_EXTRA = {"data": {"task": "classification"}, "train": {"loss": "cross_entropy"}}


def _schema(section):
    return {**DEFAULTS[section], **_EXTRA.get(section, {})}


def _model_dict(model):
    if isinstance(model, dict):
        return model
    if model in (None, "baseline"):
        return {"type": "baseline"}
    if isinstance(model, str) and model.startswith("mlp:"):
        return {"hidden": [int(w) for w in model[4:].split(",") if w]}
    raise ValueError(f"model: expected 'baseline', 'mlp:W1,...' or a table, got {model!r}")


def _check_value(key, value, default):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = True
    if not ok:
        raise TypeError(f"{key}: expected {type(default).__name__}, got {type(value).__name__} {value!r}")


def apply_overrides(cfg, overrides) -> dict:
    """Set dotted keys (``{"train.lr": 0.1, "model.hidden": [64]}``) on a copy of ``cfg``, validated."""
    cfg = copy.deepcopy(cfg)
    for key, value in dict(overrides).items():
        section, _, name = key.partition(".")
        if section in ("name", "description") and not name:
            cfg[section] = value
            continue
        if section not in ("data", "model", "train") or not name:
            raise KeyError(f"{key}: unknown key; expected data.<key>, model.<key> or train.<key>")
        if section == "model":
            if name not in _MODEL_KEYS:
                raise KeyError(f"{key}: unknown key; valid model keys: {sorted(_MODEL_KEYS)}")
            cfg["model"] = dict(_model_dict(cfg.get("model")))
            cfg["model"][name] = value
            continue
        schema = _schema(section)
        if name not in schema:
            raise KeyError(f"{key}: unknown key; valid {section} keys: {sorted(schema)}")
        _check_value(key, value, schema[name])
        cfg.setdefault(section, {})[name] = value
    return cfg


def load_config(source=None) -> dict:
    """None (defaults), a TOML path, or a dict of inline tables (merged over the defaults, validated)."""
    if source is None or isinstance(source, (str, pathlib.Path)):
        cfg = _load_file(source)
    elif isinstance(source, dict):
        unknown = set(source) - {"data", "model", "train", "name", "description"}
        if unknown:
            raise KeyError(f"config: unknown sections {sorted(unknown)}; expected data, model, train, name, description")
        cfg = _load_file(None)
        flat = {}
        for sec in ("data", "train"):
            flat.update({f"{sec}.{k}": v for k, v in source.get(sec, {}).items()})
        if "model" in source:
            cfg["model"] = _model_dict(source["model"]) if not isinstance(source["model"], dict) else {}
            if isinstance(source["model"], dict):
                flat.update({f"model.{k}": v for k, v in source["model"].items()})
        cfg = apply_overrides(cfg, flat)
        for k in ("name", "description"):
            if k in source:
                cfg[k] = source[k]
    else:
        raise TypeError(f"config: expected None, a path or a dict, got {type(source).__name__}")
    for sec in ("data", "train"):
        for k, v in _EXTRA.get(sec, {}).items():
            cfg[sec].setdefault(k, v)
    return cfg


def run_training(cfg, out_dir=None, *, progress=True, verbose=False, quiet=False) -> dict:
    """Train one run as ``xpnet train`` does; write the run folder ``out_dir``; return the figures."""
    from .. import backend as B
    from .. import nn
    from ..cli.train import make_optimizer, make_scheduler
    from ..io import write_atomic
    from ..nn.builders import build_model
    from ..preprocessing import StandardScaler
    from ..train import EarlyStopping, evaluate, fit, predict, save

    t, d = cfg["train"], cfg["data"]
    regression = d.get("task") == "regression" or t.get("loss") == "mse"
    B.set_backend(t["backend"])
    B.manual_seed(int(t["seed"]))
    from ..datasets import load_dataset
    from ..datasets.regression import load_regression

    splits = load_regression(d["dataset"]) if regression else load_dataset(d["dataset"])
    xtr, xte, ytr, yte = (B.asarray(a) for a in (splits.x_train, splits.x_test, splits.y_train, splits.y_test))
    if d["standardize"]:
        sc = StandardScaler().fit(xtr)
        xtr, xte = sc.transform(xtr), sc.transform(xte)
    outputs = splits.num_outputs if regression else splits.num_classes
    model = build_model(cfg["model"], splits.num_features, outputs)
    opt = make_optimizer(model.parameters(), t)
    sched = make_scheduler(opt, t)
    es = EarlyStopping(patience=int(t["early_stopping"])) if t["early_stopping"] else None
    vsplit = d["validation_split"] or None
    if es is not None and vsplit is None:
        vsplit = 0.1
    loss = "mse" if regression else nn.CrossEntropyLoss(label_smoothing=t["label_smoothing"])
    if vsplit and regression:  # a stratified split needs class labels: a plain seeded split for targets
        from ..preprocessing import train_test_split

        xtr, xva, ytr, yva = train_test_split(xtr, ytr, test_size=vsplit, seed=int(t["seed"]))
        val, vsplit = (xva, yva), None
    else:
        val = None if vsplit else (xte, yte)
    t1 = time.perf_counter()
    history = fit(model, (xtr, ytr), loss=loss, optimizer=opt, epochs=int(t["epochs"]), batch_size=int(t["batch_size"]),
                  validation=val, validation_split=vsplit, scheduler=sched, early_stopping=es,
                  shuffle=bool(t["shuffle"]), progress=progress and not quiet, verbose=verbose)
    train_time = time.perf_counter() - t1
    B.synchronize()
    t2 = time.perf_counter()
    predict(model, xte, logits=regression)
    B.synchronize()
    infer_time = time.perf_counter() - t2
    test = evaluate(model, (xte, yte), loss=loss)
    train = evaluate(model, (xtr, ytr), loss=loss)
    h = history.history
    summary = {"test_loss": test["loss"], "train_loss": train["loss"],
               "validation_loss": h["val_loss"][-1] if "val_loss" in h else None}
    for k in ("accuracy", "r2", "mae", "rmse", "mse"):
        if k in test:
            summary[f"test_{k}"] = test[k]
            summary[f"train_{k}"] = train[k]
            if f"val_{k}" in h:
                summary[f"validation_{k}"] = h[f"val_{k}"][-1]
    if regression and val is not None:
        summary.update({f"validation_{k}": v for k, v in evaluate(model, val, loss=loss).items()})
    summary.update({"best_epoch": (history.best_epoch or 0) + 1, "epochs_run": history.epochs,
                    "train_seconds": train_time, "inference_seconds": infer_time,
                    "parameters": model.num_parameters(), "backend": str(B.get_backend())})
    if out_dir is not None:
        out = pathlib.Path(out_dir)
        write_atomic(out / "config.json", json.dumps(cfg, indent=2))
        write_atomic(out / "history.json", history.to_json())
        write_atomic(out / "history.csv", history.to_csv())
        write_atomic(out / "metrics.json", json.dumps(summary, indent=2))
        save({"model": model, "optimizer": opt, "epoch": history.epochs, "config": cfg}, out / "model.npz")
        summary["run_dir"] = str(out)
    else:
        summary["run_dir"] = None
    return summary
