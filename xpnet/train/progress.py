"""Per-epoch progress of ``fit``: a bar in a terminal, a widget in a notebook, one line per epoch elsewhere.

- a terminal (stderr is a TTY): a ``tqdm`` bar of fixed width whose metrics fit in 80 columns
  (``12/150 |█▌      | 00:03<00:31 loss 0.512 acc 81.2% val 0.498 80.0% lr 1.0e-02``);
- a Jupyter kernel: ``tqdm.auto`` (a widget when ipywidgets is installed);
- anything else (CI logs, a pipe, ``!xpnet train`` in a notebook): one line per epoch on stdout,
  flushed (``epoch 12/150 loss 0.5123 acc 81.2% | val loss 0.4981 acc 80.0% | lr 0.01 0.08s``);
- ``verbose=True``: the lines, also in a terminal; ``enabled=False`` (and not verbose): nothing.
"""
from __future__ import annotations

import shutil
import sys

BAR_FORMAT = "{n_fmt}/{total_fmt} |{bar:8}| {elapsed}<{remaining} {desc}"  # desc: the metrics


def in_notebook() -> bool:
    """True inside a Jupyter kernel (not for a subprocess started by ``!cmd``).

    >>> from xpnet.train.progress import in_notebook
    >>> in_notebook()
    False
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # pragma: no cover - IPython without a running shell
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _pct(v):
    return f"{v:.1%}"


def short_metrics(logs: dict) -> str:
    """The bar's postfix: ``loss 0.512 acc 81.2% val 0.498 80.0% lr 1.0e-02`` (≤ 48 characters).

    >>> from xpnet.train.progress import short_metrics
    >>> short_metrics({"loss": 0.51234, "accuracy": 0.8123, "val_loss": 0.4981, "val_accuracy": 0.8, "lr": 0.01})
    'loss 0.512 acc 81.2% val 0.498 80.0% lr 1.0e-02'
    """
    parts = []
    if "loss" in logs:
        parts.append(f"loss {logs['loss']:.3g}" if logs["loss"] >= 100 else f"loss {logs['loss']:.3f}")
    if "accuracy" in logs:
        parts.append(f"acc {_pct(logs['accuracy'])}")
    if "val_loss" in logs:
        v = logs["val_loss"]
        parts.append(f"val {v:.3g}" if v >= 100 else f"val {v:.3f}")
        if "val_accuracy" in logs:
            parts.append(_pct(logs["val_accuracy"]))
    if "lr" in logs:
        parts.append(f"lr {logs['lr']:.1e}")
    return " ".join(parts)


def epoch_line(epoch: int, total: int, logs: dict) -> str:
    """One line per epoch, at most 80 characters for the usual metrics:
    ``epoch 12/150 loss 0.5123 acc 81.2% | val loss 0.4981 acc 80.0% | lr 0.003 0.08s``.

    >>> from xpnet.train.progress import epoch_line
    >>> epoch_line(12, 150, {"loss": 0.51234, "accuracy": 0.8123, "val_loss": 0.4981, "lr": 0.003, "epoch_time": 0.08})
    'epoch  12/150 loss 0.5123 acc 81.2% | val loss 0.4981 | lr 0.003 0.08s'
    """
    width = len(str(total))
    out = [f"epoch {epoch:>{width}}/{total}"]
    train = [f"loss {logs['loss']:.4f}"] if "loss" in logs else []
    if "accuracy" in logs:
        train.append(f"acc {_pct(logs['accuracy'])}")
    out.append(" ".join(train))
    val = [f"loss {logs['val_loss']:.4f}"] if "val_loss" in logs else []
    if "val_accuracy" in logs:
        val.append(f"acc {_pct(logs['val_accuracy'])}")
    if val:
        out.append("| val " + " ".join(val))
    known = {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "epoch_time"}
    extra = [f"{k} {v:.4g}" for k, v in logs.items() if k not in known and isinstance(v, (int, float))]
    if extra:
        out.append("| " + " ".join(extra))
    if "lr" in logs:
        out.append(f"| lr {logs['lr']:.3g}")
    line = " ".join(out)
    if "epoch_time" in logs and len(line) + len(f" {logs['epoch_time']:.2f}s") <= 80:  # the time only if it fits
        line += f" {logs['epoch_time']:.2f}s"
    return line


class EpochProgress:
    """Progress of epochs ``initial+1 .. initial+epochs``: ``update(epoch, logs)`` after each (0-based
    ``epoch``), ``close()`` at the end. ``mode``: ``"bar"``, ``"notebook"``, ``"lines"`` or None, chosen
    from the streams when not given.

    >>> import sys
    >>> from xpnet.train.progress import EpochProgress
    >>> progress = EpochProgress(2, mode="lines", stream=sys.stdout)
    >>> progress.update(0, {"loss": 0.5, "accuracy": 0.8})
    epoch 1/2 loss 0.5000 acc 80.0%
    >>> progress.close()
    """

    def __init__(self, epochs: int, initial: int = 0, *, enabled: bool = True, verbose: bool = False,
                 mode: str | None = None, stream=None):
        self.total = initial + epochs
        self.stream = stream
        if mode is None:
            if verbose:
                mode = "lines"
            elif not enabled:
                mode = None
            elif in_notebook():
                mode = "notebook"
            elif getattr(sys.stderr, "isatty", lambda: False)():
                mode = "bar"
            else:
                mode = "lines"
        self.mode = mode
        self.bar = None
        if mode in ("bar", "notebook"):
            if mode == "bar":
                from tqdm import tqdm
            else:
                from tqdm.auto import tqdm
            # the line is at most 80 characters: never let tqdm cut it to a narrower (or unknown, 0) width
            size = shutil.get_terminal_size((80, 24))
            kw = dict(ncols=max(size.columns, 80), nrows=max(size.lines, 24), bar_format=BAR_FORMAT) if mode == "bar" else {}
            self.bar = tqdm(total=self.total, initial=initial, unit="epoch", leave=True, **kw)

    def update(self, epoch: int, logs: dict) -> None:
        if self.bar is not None:
            if self.mode == "bar":
                self.bar.set_description_str(short_metrics(logs), refresh=False)
            else:
                self.bar.set_postfix_str(short_metrics(logs), refresh=False)
            self.bar.update(1)
        elif self.mode == "lines":
            print(epoch_line(epoch + 1, self.total, logs), file=self.stream or sys.stdout, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
