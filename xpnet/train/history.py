"""``History``: what ``fit`` records per epoch."""
from __future__ import annotations

import json
import math


class History:
    """Per-epoch lists in ``history.history`` (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
    ``lr``, ``epoch_time``), plus ``best_epoch`` (0-based, by the monitored value) and ``stopped_epoch``
    (Keras' ``History``). ``to_json``/``to_csv`` write the run folder's ``history.json``/``.csv``.

    >>> import xpnet as xn
    >>> history = xn.History()
    >>> history.append({"loss": 1.0, "accuracy": 0.5})
    >>> history.append({"loss": 0.5, "accuracy": 0.75})
    >>> history, history["loss"]
    (History(epochs=2, keys=['loss', 'accuracy'], best_epoch=None), [1.0, 0.5])
    >>> print(history.to_csv(), end="")
    epoch,loss,accuracy
    1,1,0.5
    2,0.5,0.75
    """

    def __init__(self):
        self.history: dict = {}
        self.best_epoch = None
        self.stopped_epoch = None

    def append(self, logs: dict) -> None:
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    @property
    def epochs(self) -> int:
        return len(next(iter(self.history.values()), []))

    def to_dict(self) -> dict:
        return {"history": self.history, "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch}

    def to_json(self) -> str:
        clean = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v
        d = self.to_dict()
        d["history"] = {k: [clean(x) for x in v] for k, v in d["history"].items()}
        return json.dumps(d, indent=2)

    def to_csv(self) -> str:
        keys = list(self.history)
        rows = [",".join(["epoch"] + keys)]
        for i in range(self.epochs):
            rows.append(",".join([str(i + 1)] + [f"{self.history[k][i]:.6g}" for k in keys]))
        return "\n".join(rows) + "\n"

    def __repr__(self) -> str:
        return f"History(epochs={self.epochs}, keys={list(self.history)}, best_epoch={self.best_epoch})"
