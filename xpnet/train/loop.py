"""``fit``, ``evaluate``, ``predict``: the training loop the reports wrote by hand.

Inside an epoch nothing is read back to the host: the summed loss, the correct-prediction count and
the index of the first non-finite loss accumulate as device arrays and are read once at the epoch's
end (one synchronisation per epoch).
"""
from __future__ import annotations

import math
import time

from ..autograd import no_grad
from ..backend import backend_of, namespace_of, to_numpy
from ..data import ArrayDataset, DataLoader
from ..nn import functional as F
from ..optim.clip import clip_grad_norm_
from ..tensor import Tensor
from .callbacks import EarlyStopping
from .history import History
from .progress import EpochProgress



def _mse(out, target):
    """MSE for regression: a single-output prediction (N, 1) is compared with targets (N,)."""
    if out.ndim == 2 and out.shape[1] == 1 and target.ndim == 1:
        out = out.reshape(-1)
    return F.mse_loss(out, target)


_LOSSES = {"cross_entropy": F.cross_entropy, "mse": _mse, "nll": F.nll_loss}


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


def _loss_fn(loss):
    if isinstance(loss, str):
        if loss not in _LOSSES:
            raise ValueError(f"loss: expected one of {sorted(_LOSSES)} or a callable, got {loss!r}")
        return _LOSSES[loss]
    if not callable(loss):
        raise TypeError(f"loss: expected a callable or a name, got {type(loss).__name__}")
    return loss


def _model_backend(model):
    p = next(iter(model.parameters()), None)
    return backend_of(p.data) if p is not None else None


def _dataset(data, backend, name):
    if isinstance(data, (ArrayDataset, DataLoader)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayDataset(data[0], data[1], backend=backend)
    raise TypeError(f"{name}: expected (X, y), an ArrayDataset or a DataLoader, got {type(data).__name__}")


def _loader(data, batch_size, shuffle, seed):
    return data if isinstance(data, DataLoader) else DataLoader(data, batch_size, shuffle=shuffle, seed=seed)


class _EpochStats:
    """Device-side sums for one pass: Σ loss·n, correct predictions, rows. Per-step losses are kept as
    0-d device arrays (no synchronisation) so a non-finite epoch can name its first bad step."""

    def __init__(self, xp):
        self.xp, self.loss, self.correct, self.rows, self.losses = xp, 0.0, 0, 0, []

    def add(self, loss, out, yb):
        xp = self.xp
        n = yb.shape[0]
        self.loss = self.loss + loss * n
        self.losses.append(loss)
        if out.ndim == 2 and xp.isdtype(yb.dtype, "integral"):
            self.correct = self.correct + xp.sum(xp.astype(xp.argmax(out, axis=1) == yb, xp.int32))
        self.rows += n

    def read(self):
        """(mean loss, accuracy, index of the first non-finite step or −1): one host read."""
        loss = float(to_numpy(self.loss)) / max(self.rows, 1)
        acc = float(to_numpy(self.correct)) / max(self.rows, 1)
        bad = -1
        if not math.isfinite(loss):
            finite = to_numpy(self.xp.isfinite(self.xp.stack(self.losses)))
            bad = int((~finite).argmax())
        return loss, acc, bad


def fit(model, train, *, loss="cross_entropy", optimizer, epochs: int = 10, batch_size: int = 32,
        validation=None, validation_split: float | None = None, scheduler=None, early_stopping=None,
        metrics=("accuracy",), progress: bool = True, callbacks=(), shuffle: bool = True, seed=None,
        initial_epoch: int = 0, verbose: bool = False, clip_grad_norm: float | None = None) -> History:
    """Train ``model`` on ``train`` ((X, y), ArrayDataset or DataLoader) and return a :class:`History`.

    ``validation``: (X, y) or ArrayDataset, or ``validation_split`` a fraction held out (stratified)
    from ``train``; ``scheduler``: stepped once per epoch (``ReduceLROnPlateau`` gets the validation
    loss, or the training loss without validation); ``early_stopping``: an :class:`EarlyStopping` or
    an int patience on ``val_loss``; ``callbacks``: objects with ``on_epoch_end(epoch, logs, model)``;
    ``clip_grad_norm``: clip the global gradient norm to this value every step (``clip_grad_norm_``).
    ``progress``: a bar in a terminal, one line per epoch elsewhere (``xpnet.train.progress``).
    """
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs: expected a non-negative int, got {epochs!r}")
    loss_fn = _loss_fn(loss)
    backend = _model_backend(model)
    train = _dataset(train, backend, "train")
    if validation_split is not None:
        if validation is not None:
            raise ValueError("pass either validation or validation_split, not both")
        from ..preprocessing import train_test_split

        ds = train.dataset if isinstance(train, DataLoader) else train
        Xtr, Xva, ytr, yva = train_test_split(ds.X, ds.y, test_size=validation_split, seed=seed, stratify=True)
        train, validation = ArrayDataset(Xtr, ytr, backend=backend), ArrayDataset(Xva, yva, backend=backend)
    val = None if validation is None else _dataset(validation, backend, "validation")
    loader = _loader(train, batch_size, shuffle, seed)
    if isinstance(early_stopping, int) and not isinstance(early_stopping, bool):
        early_stopping = EarlyStopping(patience=early_stopping)
    cbs = list(callbacks) + ([early_stopping] if early_stopping is not None else [])
    for cb in cbs:
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(model)
    history = History()
    bar = EpochProgress(epochs, initial_epoch, enabled=progress, verbose=verbose)
    xp = loader.dataset.backend.xp
    stop = False
    for epoch in range(initial_epoch, initial_epoch + epochs):
        t0 = time.perf_counter()
        model.train()
        stats = _EpochStats(xp)
        for xb, yb in loader:
            out = model(xb)
            l = loss_fn(out, yb)
            optimizer.zero_grad()
            l.backward()
            if clip_grad_norm:
                clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            stats.add(l.data, out.data, yb)
        train_loss, train_acc, bad = stats.read()
        if bad >= 0:
            raise NonFiniteLossError(
                f"training loss became non-finite at epoch {epoch + 1}, step {bad + 1}: lower the learning "
                "rate, clip gradients (xn.optim.clip_grad_norm_) or check the data for extreme values"
            )
        logs = {"loss": train_loss}
        if "accuracy" in metrics:
            logs["accuracy"] = train_acc
        if val is not None:
            vlogs = evaluate(model, val, loss=loss_fn, batch_size=max(batch_size, 1024))
            logs.update({f"val_{k}": v for k, v in vlogs.items() if k == "loss" or k in metrics})
        logs["lr"] = optimizer.param_groups[0]["lr"]
        if scheduler is not None:
            if type(scheduler).__name__ == "ReduceLROnPlateau":
                scheduler.step(logs.get("val_loss", train_loss))
            else:
                scheduler.step()
        logs["epoch_time"] = time.perf_counter() - t0
        history.append(logs)
        for cb in cbs:
            if cb.on_epoch_end(epoch, logs, model):
                stop = True
        bar.update(epoch, logs)
        if stop:
            history.stopped_epoch = epoch
            break
    bar.close()
    for cb in cbs:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(model)
    monitor = "val_loss" if "val_loss" in history.history else "loss"
    if early_stopping is not None and early_stopping.best_epoch is not None:
        history.best_epoch = early_stopping.best_epoch - initial_epoch
    elif history.epochs:
        vals = history.history[monitor]
        history.best_epoch = min(range(len(vals)), key=lambda i: vals[i] if math.isfinite(vals[i]) else math.inf)
    return history


def evaluate(model, data, *, loss="cross_entropy", batch_size: int = 4096, metrics=("accuracy",)) -> dict:
    """Mean loss and metrics of ``model`` (in eval mode) on ``data``: ``{"loss": ..., "accuracy": ...}``.

    With float (regression) targets the metrics are ``mse``, ``rmse``, ``mae`` and ``r2``
    (:mod:`xpnet.metrics.regression`) instead of accuracy."""
    loss_fn = _loss_fn(loss)
    ds = _dataset(data, _model_backend(model), "data")
    loader = _loader(ds, batch_size, False, None)
    xp = loader.dataset.backend.xp
    y = loader.dataset.y
    regression = y is not None and xp.isdtype(y.dtype, "real floating")
    was = model.training
    model.eval()
    stats = _EpochStats(xp)
    preds = []
    with no_grad():
        for xb, yb in loader:
            out = model(xb)
            stats.add(loss_fn(out, yb).data, out.data, yb)
            if regression:
                preds.append(out.data)
    model.train(was)
    loss_v, acc, _ = stats.read()
    out = {"loss": loss_v}
    if regression:
        from ..metrics.regression import regression_report

        out.update(regression_report(y, preds[0] if len(preds) == 1 else xp.concat(preds, axis=0)))
    elif "accuracy" in metrics:
        out["accuracy"] = acc
    return out


def predict(model, X, batch_size: int | None = None, logits: bool = False):
    """Class predictions (or logits with ``logits=True``) of ``model`` in eval mode, as a backend
    array on the model's device."""
    backend = _model_backend(model)
    ds = X if isinstance(X, ArrayDataset) else ArrayDataset(X.data if isinstance(X, Tensor) else X, backend=backend)
    n = len(ds)
    bs = n if batch_size is None else batch_size
    was = model.training
    model.eval()
    parts = []
    with no_grad():
        for i in range(0, n, bs):
            parts.append(model(ds.X[i:min(i + bs, n), ...]).data)
    model.train(was)
    xp = namespace_of(parts[0])
    out = parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
    return out if logits else xp.argmax(out, axis=1)
