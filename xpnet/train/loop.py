"""``fit``, ``evaluate``, ``predict``: the training loop the reports wrote by hand.

Inside an epoch nothing is read back to the host: the summed loss, the correct-prediction count and
the index of the first non-finite loss accumulate as device arrays and are read once at the epoch's
end (one synchronisation per epoch).
"""
from __future__ import annotations

import math
import time

from ..autograd import no_grad
from ..backend import backend_of, describe, namespace_of, on_host_check, to_numpy
from ..data import ArrayDataset, DataLoader
from ..backend import random as _random
from ..nn import Module
from ..options import get_option
from ..nn import functional as F
from ..optim.clip import clip_grad_norm_
from ..tensor import Tensor
from .callbacks import EarlyStopping
from . import resume as _resume
from .history import History
from .progress import EpochProgress



def _mse(out, target):
    """MSE for regression: a single-output prediction (N, 1) is compared with targets (N,)."""
    if out.ndim == 2 and out.shape[1] == 1 and target.ndim == 1:
        out = out.reshape(-1)
    return F.mse_loss(out, target)


_LOSSES = {"cross_entropy": F.cross_entropy, "mse": _mse, "nll": F.nll_loss}


def _check_labels_once(datasets, out):
    """Class labels against the model's C outputs, once per fit before the first update (two host reads
    per dataset): on a GPU no training step reads labels, and CuPy wraps an out-of-range index instead
    of raising, so a label C would silently train as class 0."""
    if out.ndim != 2:
        return
    for name, data in datasets:
        ds = data.dataset if isinstance(data, DataLoader) else data
        y = getattr(ds, "y", None)
        if y is not None and namespace_of(y).isdtype(y.dtype, "integral"):
            on_host_check(y, name, num_classes=out.shape[1])


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


def _got(v) -> str:
    return f"{type(v).__name__} {v!r}" if isinstance(v, (str, int, float, bool)) or v is None else type(v).__name__


def _check_model(model, who):
    if not isinstance(model, Module):
        raise TypeError(f"{who}: model: expected an xn.nn.Module, got {_got(model)}")


def _check_int(name, v, lo, who, none_ok=False):
    if v is None and none_ok:
        return
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise ValueError(f"{who}: {name}: expected an int >= {lo}{' or None' if none_ok else ''}, got {_got(v)}")


def _check_optimizer(optimizer, model):
    if not (hasattr(optimizer, "param_groups") and callable(getattr(optimizer, "step", None))
            and callable(getattr(optimizer, "zero_grad", None))):
        raise TypeError(f"fit: optimizer: expected an xn.optim optimizer such as "
                        f"xn.optim.SGD(model.parameters(), lr=0.01), got {_got(optimizer)}")
    own = {id(p) for p in model.parameters()}
    theirs = [p for g in optimizer.param_groups for p in g["params"]]
    foreign = sum(id(p) not in own for p in theirs)
    if foreign:
        raise ValueError(f"fit: optimizer: its parameters are not those of the model ({foreign} of {len(theirs)} "
                         "optimised tensors do not belong to it); build it from model.parameters()")


def _check_scheduler(scheduler, optimizer):
    if scheduler is None:
        return
    if not callable(getattr(scheduler, "step", None)) or not hasattr(scheduler, "optimizer"):
        raise TypeError(f"fit: scheduler: expected an xn.optim.lr_scheduler object built on the optimizer, "
                        f"e.g. CosineAnnealingLR(opt, T_max=epochs), got {_got(scheduler)}")
    if scheduler.optimizer is not optimizer:
        raise ValueError("fit: scheduler: it was built on another optimizer than the one passed to fit")


def _check_callbacks(early_stopping, callbacks):
    if isinstance(early_stopping, int) and not isinstance(early_stopping, bool):
        if early_stopping < 0:
            raise ValueError(f"fit: early_stopping: expected an EarlyStopping, an int patience >= 0 or None, "
                             f"got {early_stopping!r}")
        early_stopping = EarlyStopping(patience=early_stopping)
    elif early_stopping is not None and not callable(getattr(early_stopping, "on_epoch_end", None)):
        raise TypeError(f"fit: early_stopping: expected an xn.EarlyStopping, an int patience or None, "
                        f"got {_got(early_stopping)}")
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"fit: callbacks: expected a list of callbacks, got {_got(callbacks)}")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not callable(getattr(cb, "on_epoch_end", None)):
            raise TypeError(f"fit: callbacks: expected objects with on_epoch_end(epoch, logs, model), got {_got(cb)}")
    return early_stopping, callbacks


def _model_backend(model):
    p = next(iter(model.parameters()), None)
    return backend_of(p.data) if p is not None else None


def _dataset(data, backend, name):
    if isinstance(data, (ArrayDataset, DataLoader)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayDataset(data[0], data[1], backend=backend)
    raise TypeError(f"{name}: expected (X, y), an ArrayDataset or a DataLoader, got {type(data).__name__}")


def _nonempty(data, name):
    ds = data.dataset if isinstance(data, DataLoader) else data
    if len(ds) == 0:
        raise ValueError(f"{name}: expected at least one row, got X of shape {tuple(ds.X.shape)} (empty)")
    if ds.y is None:
        raise ValueError(f"{name}: expected labels y, got a dataset without labels")


def _loader(data, batch_size, shuffle, seed, generator=None):
    if isinstance(data, DataLoader):
        return data
    return DataLoader(data, batch_size, shuffle=shuffle, seed=seed, generator=generator)


def _snapshot(model):
    """A device copy of the model's parameters and buffers (no host round-trip)."""
    return {k: namespace_of(v).asarray(v, copy=True) for k, v in model.state_dict().items()}


def _check_metrics(metrics, who):
    """``metrics``: names from ('accuracy',) and callables ``fn(y_true, y_pred)`` returning a number or
    a 0-d array (logged under ``fn.__name__``); returns {name: callable} of the custom ones."""
    if isinstance(metrics, str) or not hasattr(metrics, "__iter__"):
        raise ValueError(f"{who}: metrics: expected a tuple of names from ('accuracy',) or callables "
                         f"fn(y_true, y_pred), got {metrics!r}")
    custom = {}
    for m in metrics:
        if callable(m):
            custom[getattr(m, "__name__", type(m).__name__)] = m
        elif m != "accuracy":
            raise ValueError(f"{who}: metrics: expected a tuple of names from ('accuracy',) or callables "
                             f"fn(y_true, y_pred), got {metrics!r}")
    return custom


def _as_target(out, yb):
    """A single-output prediction (N, 1) against targets (N,) is compared as (N,), as the MSE loss does."""
    return namespace_of(out).reshape(out, (-1,)) if out.ndim == 2 and out.shape[1] == 1 and yb.ndim == 1 else out


class _EpochStats:
    """Device-side sums for one pass: Σ loss·n, correct predictions, Σ metric·n of custom metrics, rows.
    Per-step losses are kept as 0-d device arrays (no synchronisation) so a non-finite epoch can name
    its first bad step."""

    def __init__(self, xp, custom=None):
        self.xp, self.loss, self.correct, self.rows, self.losses = xp, 0.0, 0, 0, []
        self.classification = False
        self.custom = dict(custom or {})
        self.sums = {k: 0.0 for k in self.custom}

    def add(self, loss, out, yb):
        xp = self.xp
        n = yb.shape[0]
        self.loss = self.loss + loss * n
        self.losses.append(loss)
        if out.ndim == 2 and xp.isdtype(yb.dtype, "integral"):
            self.classification = True
            self.correct = self.correct + xp.sum(xp.astype(xp.argmax(out, axis=1) == yb, xp.int32))
        for k, fn in self.custom.items():
            self.sums[k] = self.sums[k] + fn(yb, _as_target(out, yb)) * n
        self.rows += n

    def read_custom(self) -> dict:
        """Row-weighted means of the custom metrics over the batches (one host read each)."""
        return {k: float(to_numpy(v)) / max(self.rows, 1) for k, v in self.sums.items()}

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
        initial_epoch: int = 0, verbose: bool = False, generator=None, checkpoint=None, resume=None,
        clip_grad_norm: float | None = None, compile: bool | None = None) -> History:
    """Train ``model`` on ``train`` ((X, y), ArrayDataset or DataLoader) and return a :class:`History`.

    ``validation``: (X, y) or ArrayDataset, or ``validation_split`` a fraction held out (stratified)
    from ``train``; ``scheduler``: stepped once per epoch as ``scheduler.step(metric=m)``, ``m`` the
    validation loss (the training loss without validation), used by schedules with ``needs_metric``
    such as ``ReduceLROnPlateau`` (:mod:`xpnet.optim.lr_scheduler`); ``early_stopping``: an :class:`EarlyStopping` or
    an int patience on ``val_loss``; ``callbacks``: objects with ``on_epoch_end(epoch, logs, model)``;
    ``clip_grad_norm``: clip the global gradient norm to this value every step (``clip_grad_norm_``).
    ``metrics``: ``"accuracy"`` (logged for class labels only) and callables ``fn(y_true, y_pred)``
    returning a number or 0-d array, logged as ``fn.__name__`` (the row-weighted mean over the epoch's
    batches) and ``val_<name>`` (on all validation predictions at once).
    ``compile``: trace the training step once and replay it (:func:`xpnet.compile`; same results, less
    Python per step); default: the ``compile`` option (``xn.set_config(compile=...)``).
    ``progress``: a bar in a terminal, one line per epoch elsewhere (``xpnet.train.progress``).
    ``generator``: an :class:`xn.Generator` for this run's dropout masks (and shuffles, without
    ``seed``), as PyTorch's ``generator=``; default: this thread's stream of the model's backend.
    ``checkpoint``: a path written (atomically) after every epoch with everything a resume needs:
    model, optimiser, scheduler, every random stream (dropout, loader shuffle), epoch, history.
    ``resume``: such a path; training continues from its epoch up to ``epochs`` in total, bitwise as
    if it had not stopped.

    A non-finite training loss raises :class:`NonFiniteLossError` after putting back the weights of
    the last good epoch (the best ones if ``EarlyStopping`` kept them); ``err.history`` holds the
    good epochs.
    """
    _check_model(model, "fit")
    _check_int("epochs", epochs, 0, "fit")
    _check_int("batch_size", batch_size, 1, "fit")
    _check_int("initial_epoch", initial_epoch, 0, "fit")
    _check_int("seed", seed, 0, "fit", none_ok=True)
    loss_fn = _loss_fn(loss)
    _check_optimizer(optimizer, model)
    _check_scheduler(scheduler, optimizer)
    early_stopping, callbacks = _check_callbacks(early_stopping, callbacks)
    if not isinstance(shuffle, bool):
        raise TypeError(f"fit: shuffle: expected True or False, got {_got(shuffle)}")
    if clip_grad_norm is not None and (isinstance(clip_grad_norm, bool) or not isinstance(clip_grad_norm, (int, float))
                                       or not (clip_grad_norm > 0 and math.isfinite(clip_grad_norm))):
        raise ValueError(f"fit: clip_grad_norm: expected a finite number > 0 or None, got {_got(clip_grad_norm)}")
    custom = _check_metrics(metrics, "fit")
    backend = _model_backend(model)
    gen = _random.as_generator(generator, backend, "fit: generator")
    train = _dataset(train, backend, "train")
    _check_targets_fit_loss(train, loss)
    if validation_split is not None:
        if validation is not None:
            raise ValueError("fit: pass either validation or validation_split, not both")
        if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) or not (
                0.0 < validation_split < 1.0):
            raise ValueError(f"fit: validation_split: expected a fraction in (0, 1), got {_got(validation_split)}")
        from ..preprocessing import train_test_split

        ds = train.dataset if isinstance(train, DataLoader) else train
        _nonempty(ds, "train")
        Xtr, Xva, ytr, yva = train_test_split(ds.X, ds.y, test_size=validation_split, seed=seed, stratify=True)
        train, validation = ArrayDataset(Xtr, ytr, backend=backend), ArrayDataset(Xva, yva, backend=backend)
    _nonempty(train, "train")
    val = None if validation is None else _dataset(validation, backend, "validation")
    if val is not None:
        _nonempty(val, "validation")
    loader = _loader(train, batch_size, shuffle, seed, gen if seed is None else None)
    cbs = callbacks + ([early_stopping] if early_stopping is not None else [])
    history = History()
    stream = gen if gen is not None else _random.Generator.current(backend)
    if checkpoint is not None:
        checkpoint = _resume.checkpoint_path(checkpoint)
    if resume is not None:
        done, history = _resume.restore(resume, model=model, optimizer=optimizer, scheduler=scheduler,
                                        loader=loader, stream=stream, early_stopping=early_stopping)
        initial_epoch, epochs = done, max(epochs - done, 0)
    else:
        for cb in cbs:
            if hasattr(cb, "on_train_begin"):
                cb.on_train_begin(model)
    bar = EpochProgress(epochs, initial_epoch, enabled=progress, verbose=verbose)
    xp = loader.dataset.backend.xp
    stop = False
    def train_step(xb, yb):
        out = model(xb)
        if unchecked:  # once, in the first (eager) call
            _check_labels_once((("y", loader), ("validation y", val)), out.data)
            unchecked.clear()
        l = loss_fn(out, yb)
        optimizer.zero_grad()
        l.backward()
        if clip_grad_norm:
            clip_grad_norm_(model.parameters(), clip_grad_norm)
        optimizer.step()
        return l.data, out.data

    unchecked = [True] if loss_fn in (F.cross_entropy, F.nll_loss) else []
    if get_option("compile") if compile is None else compile:
        from ..compile import compile as compile_step

        train_step = compile_step(train_step, state=(model, optimizer))
    with _random.use_generator(gen):
        for epoch in range(initial_epoch, initial_epoch + epochs):
            t0 = time.perf_counter()
            good = _snapshot(model)
            model.train()
            stats = _EpochStats(xp, custom)
            for xb, yb in loader:
                stats.add(*train_step(xb, yb), yb)
            train_loss, train_acc, bad = stats.read()
            if bad >= 0:
                kept = getattr(early_stopping, "best_state", None)
                model.load_state_dict(kept if kept is not None else good)
                bar.close()
                err = NonFiniteLossError(
                    f"training loss became non-finite at epoch {epoch + 1}, step {bad + 1}: lower the learning "
                    "rate, clip gradients (xn.optim.clip_grad_norm_) or check the data for extreme values "
                    f"(the model holds the weights of {'the best' if kept is not None else 'the last good'} epoch; "
                    "err.history the good epochs)"
                )
                err.history, err.epoch = history, epoch
                raise err
            logs = {"loss": train_loss}
            if "accuracy" in metrics and stats.classification:
                logs["accuracy"] = train_acc
            logs.update(stats.read_custom())
            if val is not None:
                vlogs = evaluate(model, val, loss=loss_fn, batch_size=max(batch_size, 1024), metrics=metrics)
                logs.update({f"val_{k}": v for k, v in vlogs.items() if k == "loss" or k in metrics or k in custom})
            logs["lr"] = optimizer.param_groups[0]["lr"]
            if scheduler is not None:  # the scheduler protocol of xpnet.optim.lr_scheduler
                if hasattr(scheduler, "needs_metric"):
                    scheduler.step(metric=logs.get("val_loss", train_loss))
                else:  # a scheduler of another library: PyTorch's plain step()
                    scheduler.step()
            logs["epoch_time"] = time.perf_counter() - t0
            history.append(logs)
            for cb in cbs:
                if cb.on_epoch_end(epoch, logs, model):
                    stop = True
            if checkpoint is not None:
                _resume.save(checkpoint, model=model, optimizer=optimizer, scheduler=scheduler, loader=loader,
                             stream=stream, epoch=epoch + 1, history=history, early_stopping=early_stopping)
            bar.update(epoch, logs)
            if stop:
                history.stopped_epoch = epoch
                break
    bar.close()
    for cb in cbs:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(model)
    monitor = "val_loss" if "val_loss" in history.history else "loss"
    if early_stopping is not None and getattr(early_stopping, "best_epoch", None) is not None:
        history.best_epoch = early_stopping.best_epoch - (0 if resume is not None else initial_epoch)
    elif history.epochs:
        vals = history.history[monitor]
        history.best_epoch = min(range(len(vals)), key=lambda i: vals[i] if math.isfinite(vals[i]) else math.inf)
    return history


def _check_targets_fit_loss(train, loss):
    """Float (regression) targets with a classification loss: a clear error instead of a silent misfit."""
    from ..nn.modules.loss import CrossEntropyLoss, NLLLoss

    ds = train.dataset if isinstance(train, DataLoader) else train
    y = getattr(ds, "y", None)
    classification = loss in ("cross_entropy", "nll") or isinstance(loss, (CrossEntropyLoss, NLLLoss))
    if classification and y is not None and y.ndim == 1 and ds.backend.xp.isdtype(y.dtype, "real floating"):
        raise TypeError(f"fit: y: expected integer class labels for a classification loss, got float targets "
                        f"{describe(y)}; for regression targets pass loss='mse'")


def _nonfinite_weights(model):
    """Names of parameters and buffers holding NaN or inf (one host read each; for error paths)."""
    bad = []
    for k, v in model.state_dict().items():
        xp = namespace_of(v)
        if xp.isdtype(v.dtype, "real floating") and not bool(xp.all(xp.isfinite(v))):
            bad.append(k)
    return bad


def evaluate(model, data, *, loss="cross_entropy", batch_size: int = 4096, metrics=("accuracy",)) -> dict:
    """Mean loss and metrics of ``model`` (in eval mode) on ``data``: ``{"loss": ..., "accuracy": ...}``.
    Raises :class:`NonFiniteLossError` naming the parameters when the loss is NaN or infinite.

    With float (regression) targets the metrics are ``mse``, ``rmse``, ``mae`` and ``r2``
    (:mod:`xpnet.metrics.regression`) instead of accuracy. A callable in ``metrics``,
    ``fn(y_true, y_pred)``, is computed on all predictions and reported under ``fn.__name__``."""
    _check_model(model, "evaluate")
    _check_int("batch_size", batch_size, 1, "evaluate")
    custom = _check_metrics(metrics, "evaluate")
    loss_fn = _loss_fn(loss)
    ds = _dataset(data, _model_backend(model), "data")
    _nonempty(ds, "evaluate: data")
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
            if regression or custom:
                preds.append(out.data)
    model.train(was)
    loss_v, acc, _ = stats.read()
    if not math.isfinite(loss_v):
        bad = _nonfinite_weights(model)
        where = (f"the model's {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''} hold NaN or inf" if bad
                 else "the outputs overflowed (the weights are finite)")
        raise NonFiniteLossError(f"evaluate: the loss is {loss_v}: {where}")
    out = {"loss": loss_v}
    pred = (preds[0] if len(preds) == 1 else xp.concat(preds, axis=0)) if preds else None
    if regression:
        from ..metrics.regression import regression_report

        out.update(regression_report(y, pred))
    elif "accuracy" in metrics:
        out["accuracy"] = acc
    for k, fn in custom.items():
        out[k] = float(to_numpy(fn(y, _as_target(pred, y))))
    return out


def predict(model, X, batch_size: int | None = None, logits: bool = False):
    """Class predictions (or logits with ``logits=True``) of ``model`` in eval mode, as a backend
    array on the model's device."""
    _check_model(model, "predict")
    _check_int("batch_size", batch_size, 1, "predict", none_ok=True)
    backend = _model_backend(model)
    if isinstance(X, DataLoader):
        X = X.dataset
    ds = X if isinstance(X, ArrayDataset) else ArrayDataset(X.data if isinstance(X, Tensor) else X, backend=backend)
    n = len(ds)
    if n == 0:
        raise ValueError(f"predict: X: expected at least one row, got shape {tuple(ds.X.shape)} (empty)")
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
