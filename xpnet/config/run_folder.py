# purity: host -- run folders are files on the host (JSON, .npz); arrays move to the backend on load
"""A run folder: what ``xpnet train`` / ``run_training`` writes, and ``load_run`` to read it back.

Everything needed to rebuild, evaluate and continue the run is in the folder (``FILES`` describes
each file); ``load_run(path)`` returns the model with its weights, the fitted preprocessing, the
config and the metrics.
"""
from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field

import numpy as np

FILES = {
    "config.json": "the full, validated config of the run (every key, defaults filled in)",
    "model.npz": "the weights the reported metrics are for (the best epoch's when early stopping restored "
                 "them), with the optimiser, schedule, random state, epoch and config (`xn.load`)",
    "checkpoint.npz": "the full training state after the last finished epoch, rewritten every epoch: "
                      "what `xpnet train --resume RUN` continues from",
    "preprocessing.npz": "the fitted StandardScaler (`mean`, `scale`) when `data.standardize` is true",
    "history.json": "per-epoch train and validation loss and accuracy, learning rate, epoch time, best epoch",
    "history.csv": "the same per-epoch values as CSV (`val_*` columns: the validation split)",
    "metrics.json": "the summary: test, validation and train loss and accuracy, macro precision/recall/F1 on "
                    "test, best epoch, epochs run, split sizes, times, parameters, backend",
    "classification_report.txt": "per-class precision, recall, F1 and support on the test split",
    "curves.png": "loss, accuracy (train and validation) and, when scheduled, learning rate per epoch",
    "confusion_matrix.png": "test confusion matrix: counts, and rows normalised to 1 (recall per class)",
}


def save_scaler(scaler, path) -> None:
    import io

    from ..backend import to_numpy
    from ..io import write_atomic

    buf = io.BytesIO()
    np.savez(buf, mean=np.asarray(to_numpy(scaler.mean_)), scale=np.asarray(to_numpy(scaler.scale_)))
    write_atomic(path, buf.getvalue())


def load_scaler(path):
    """The StandardScaler saved in ``path``, on the active backend."""
    from ..backend import asarray
    from ..preprocessing import StandardScaler

    with np.load(path, allow_pickle=False) as z:
        mean, scale = z["mean"], z["scale"]
    s = StandardScaler()
    s.mean_, s.scale_, s.n_features_in_ = asarray(mean), asarray(scale), int(mean.shape[0])
    return s


@dataclass
class LoadedRun:
    """A reloaded run: ``model`` (eval mode, weights of ``model.npz``), ``scaler`` (or None),
    ``config``, ``metrics``, ``history`` (dicts) and ``path``."""

    path: pathlib.Path
    model: object
    scaler: object
    config: dict
    metrics: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)

    def transform(self, X):
        """``X`` (host or backend array) on the active backend, preprocessed as in training."""
        from ..backend import asarray

        X = asarray(X)
        return self.scaler.transform(X) if self.scaler is not None else X

    @property
    def regression(self) -> bool:
        """A regression run (``data.task = "regression"`` or ``train.loss = "mse"``): predictions are values."""
        return self.config["data"]["task"] == "regression" or self.config["train"]["loss"] == "mse"

    def predict(self, X, logits: bool = False):
        """Class predictions (or logits) for raw features ``X``, preprocessed as in training; the
        predicted values (N, outputs) for a regression run."""
        from ..train import predict

        return predict(self.model, self.transform(X), logits=logits or self.regression)


def _read_json(path, what):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"load_run: {path.parent} has no {path.name} ({what}); is it a run folder?") from None


def load_run(path) -> LoadedRun:
    """Reload a run folder written by ``xpnet train``: the model (built from the saved config, weights of
    ``model.npz``, on the active backend, eval mode), the fitted scaler, the config and the metrics."""
    from ..train import load
    from .models import build_model
    from .schema import validate

    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"load_run: run folder {path} does not exist")
    config = validate(_read_json(path / "config.json", "the run's config"))
    metrics = _read_json(path / "metrics.json", "the run's metrics") if (path / "metrics.json").exists() else {}
    history = _read_json(path / "history.json", "the history") if (path / "history.json").exists() else {}
    shape = metrics.get("data_shape")
    outputs = (shape or {}).get("classes", (shape or {}).get("outputs"))  # classification / regression runs
    if not shape or outputs is None:
        raise ValueError(f"load_run: {path / 'metrics.json'} lacks data_shape (features, classes or outputs)")
    model = build_model(config["model"], int(shape["features"]), int(outputs))
    if not (path / "model.npz").exists():
        raise FileNotFoundError(f"load_run: {path} has no model.npz (the weights)")
    load(path / "model.npz", model=model, restore_rng=False)
    model.eval()
    scaler = load_scaler(path / "preprocessing.npz") if (path / "preprocessing.npz").exists() else None
    if config["data"]["standardize"] and scaler is None:
        raise FileNotFoundError(f"load_run: {path} was trained on standardised data but has no preprocessing.npz")
    return LoadedRun(path, model, scaler, config, metrics, history)
