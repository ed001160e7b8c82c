"""``xpnet train``: config → dataset on device → model → fit → test metrics → run folder."""
from __future__ import annotations

import datetime
import json
import pathlib
import time

from .. import backend as B
from .. import metrics, nn, optim, plotting
from ..datasets import load_dataset
from ..io import write_atomic
from ..nn.builders import build_model
from ..preprocessing import StandardScaler
from ..train import EarlyStopping, evaluate, fit, predict, save
from .config import load_config


def make_optimizer(params, t):
    name = t["optimizer"].lower()
    if name == "sgd":
        return optim.SGD(params, lr=t["lr"], momentum=t["momentum"], nesterov=t["nesterov"], weight_decay=t["weight_decay"])
    if name == "adam":
        return optim.Adam(params, lr=t["lr"], betas=tuple(t["betas"]), weight_decay=t["weight_decay"])
    if name == "adamw":
        return optim.AdamW(params, lr=t["lr"], betas=tuple(t["betas"]), weight_decay=t["weight_decay"])
    raise ValueError(f"optimizer: expected sgd, adam or adamw, got {t['optimizer']!r}")


def make_scheduler(opt, t):
    name, epochs, warm = t["scheduler"], t["epochs"], int(t["warmup_epochs"])
    S = optim.lr_scheduler
    if name == "none":
        main = None
    elif name == "cosine":
        main = S.CosineAnnealingLR(opt, T_max=max(epochs - warm, 1))
    elif name == "step":
        main = S.StepLR(opt, step_size=max(epochs // 3, 1), gamma=0.1)
    elif name == "plateau":
        return S.ReduceLROnPlateau(opt, factor=0.5, patience=5)
    else:
        raise ValueError(f"scheduler: expected none, cosine, step or plateau, got {name!r}")
    if warm:
        warmup = S.LinearLR(opt, start_factor=0.1, total_iters=warm)
        return warmup if main is None else S.SequentialLR(opt, [warmup, main], milestones=[warm])
    return main


def apply_overrides(cfg, args):
    t = cfg["train"]
    for key in ("backend", "epochs", "batch_size", "lr", "optimizer", "seed"):
        v = getattr(args, key, None)
        if v is not None:
            t[key] = v
    if args.dataset is not None:
        cfg["data"]["dataset"] = args.dataset
    if args.model is not None:
        cfg["model"] = args.model
    return cfg


def run(args) -> int:
    cfg = apply_overrides(load_config(args.config), args)
    t, d = cfg["train"], cfg["data"]
    out = pathlib.Path(args.out) / (f"{cfg.get('name', 'run')}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    B.set_backend(t["backend"])
    B.manual_seed(int(t["seed"]))
    t0 = time.perf_counter()
    splits = load_dataset(d["dataset"])
    print(f"dataset: {d['dataset']} ({splits.describe()}), loaded in {time.perf_counter() - t0:.1f}s")
    xtr, xte = B.asarray(splits.x_train), B.asarray(splits.x_test)
    ytr, yte = B.asarray(splits.y_train), B.asarray(splits.y_test)
    if d["standardize"]:
        scaler = StandardScaler().fit(xtr)
        xtr, xte = scaler.transform(xtr), scaler.transform(xte)
    model = build_model(cfg["model"], splits.num_features, splits.num_classes)
    print(f"backend: {B.get_backend()}")
    print(model.summary((2, splits.num_features)))
    opt = make_optimizer(model.parameters(), t)
    sched = make_scheduler(opt, t)
    es = EarlyStopping(patience=int(t["early_stopping"])) if t["early_stopping"] else None
    vsplit = d["validation_split"] or None
    if es is not None and vsplit is None:
        vsplit = 0.1
    loss = nn.CrossEntropyLoss(label_smoothing=t["label_smoothing"])
    print(f"validation: {'a stratified ' + format(vsplit, '.0%') + ' of the training set' if vsplit else 'the test split (set data.validation_split to hold out training rows instead)'}")
    t1 = time.perf_counter()
    history = fit(model, (xtr, ytr), loss=loss, optimizer=opt, epochs=int(t["epochs"]), batch_size=int(t["batch_size"]),
                  validation=None if vsplit else (xte, yte), validation_split=vsplit, scheduler=sched,
                  early_stopping=es, shuffle=bool(t["shuffle"]), progress=not args.no_progress,
                  verbose=args.verbose)
    train_time = time.perf_counter() - t1
    B.synchronize()
    t2 = time.perf_counter()
    pred = predict(model, xte)
    B.synchronize()
    infer_time = time.perf_counter() - t2
    test = evaluate(model, (xte, yte), loss=loss)
    p, r, f, _ = (float(B.to_numpy(v)) for v in metrics.precision_recall_f1(yte, pred, "macro", splits.num_classes))
    cm = B.to_numpy(metrics.confusion_matrix(yte, pred, splits.num_classes))
    summary = {"test_loss": test["loss"], "test_accuracy": test["accuracy"], "precision_macro": p, "recall_macro": r,
               "f1_macro": f, "train_seconds": train_time, "inference_seconds": infer_time,
               "epochs_run": history.epochs, "best_epoch": (history.best_epoch or 0) + 1,
               "parameters": model.num_parameters(), "backend": str(B.get_backend())}
    print(f"\ntest accuracy {test['accuracy']:.4f}  loss {test['loss']:.4f}  macro P {p:.4f} R {r:.4f} F1 {f:.4f}")
    print(metrics.classification_report(yte, pred, num_classes=splits.num_classes))
    print(f"training time {train_time:.2f}s ({history.epochs} epochs, "
          f"{train_time / max(history.epochs, 1) * 1000:.1f} ms/epoch); inference {infer_time * 1000:.1f} ms "
          f"for {len(splits.x_test)} rows")
    write_atomic(out / "config.json", json.dumps(cfg, indent=2))
    write_atomic(out / "history.json", history.to_json())
    write_atomic(out / "history.csv", history.to_csv())
    write_atomic(out / "metrics.json", json.dumps(summary, indent=2))
    write_atomic(out / "classification_report.txt", metrics.classification_report(yte, pred, num_classes=splits.num_classes))
    save({"model": model, "optimizer": opt, "scheduler": sched, "epoch": history.epochs, "config": cfg}, out / "model.npz")
    if plotting.plot_history(history, out / "curves.png") and plotting.plot_confusion(cm, out / "confusion_matrix.png"):
        plots = "curves.png, confusion_matrix.png"
    else:
        plots = "no plots (matplotlib not installed: pip install 'xpnet[plot]')"
    print(f"run folder: {out} (config, history, metrics, model.npz, {plots})")
    return 0
