"""Callbacks: hooks called by ``fit`` at the end of every epoch; EarlyStopping."""
from __future__ import annotations

import math

from ..backend import namespace_of


class Callback:
    """Override ``on_train_begin(model)`` / ``on_epoch_end(epoch, logs, model)`` /
    ``on_train_end(model)``; ``on_epoch_end`` returning True stops training. ``logs`` holds the
    epoch's metrics (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``, ...).

    >>> import xpnet as xn
    >>> from xpnet.train import Callback
    >>> class StopBelow(Callback):
    ...     def on_epoch_end(self, epoch, logs, model):
    ...         return logs["loss"] < 0.5
    >>> [StopBelow().on_epoch_end(e, {"loss": v}, None) for e, v in enumerate([0.9, 0.4])]
    [False, True]
    """

    def on_train_begin(self, model):
        pass

    def on_epoch_end(self, epoch: int, logs: dict, model) -> bool | None:
        return None

    def on_train_end(self, model):
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs;
    with ``restore_best_weights`` put back the weights of the best epoch (Keras ``EarlyStopping``).

    Args:
        monitor: the logged value watched (``"val_loss"``, ``"val_accuracy"``, ``"loss"``, ...).
        patience: epochs without improvement before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy/F1 names, else min).
        restore_best_weights: load the best epoch's weights at the end of training.

    >>> import xpnet as xn
    >>> stop = xn.EarlyStopping(patience=1, restore_best_weights=False)
    >>> [stop.on_epoch_end(e, {"val_loss": v}, None) for e, v in enumerate([1.0, 0.8, 0.9])]
    [False, False, True]
    >>> stop.best_epoch, stop.stopped_epoch
    (1, 2)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True):
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"EarlyStopping: monitor: expected a logged name such as 'val_loss', got {monitor!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience: expected an int >= 0, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not math.isfinite(min_delta):
            raise ValueError(f"EarlyStopping: min_delta: expected a finite number, got {min_delta!r}")
        if not isinstance(restore_best_weights, bool):
            raise TypeError(f"EarlyStopping: restore_best_weights: expected True or False, got {restore_best_weights!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor or monitor.endswith("f1") else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode: expected 'min', 'max' or 'auto', got {mode!r}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, abs(min_delta), mode
        self.restore_best_weights = restore_best_weights
        self.reset()

    def reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.wait, self.best_state, self.stopped_epoch = None, 0, None, None

    def on_train_begin(self, model):
        self.reset()

    def _improved(self, value):
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs, model):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: monitor {self.monitor!r} is not logged; available: {sorted(logs)}")
        value = logs[self.monitor]
        if not math.isfinite(value):  # a NaN never improves (and never counts as the best)
            value = math.inf if self.mode == "min" else -math.inf
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = {k: namespace_of(v).asarray(v, copy=True) for k, v in model.state_dict().items()}
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model):
        if self.restore_best_weights and self.best_state is not None:
            model.load_state_dict(self.best_state)
