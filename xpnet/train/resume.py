"""The run state ``fit(checkpoint=...)`` writes after each epoch and ``fit(resume=...)`` reads:
model, optimiser, scheduler, every random stream the run uses (the dropout/default stream of the
model's backend and the loader's shuffle stream), the epoch count, the history and the early-stopping
counters, so that a resumed run continues bitwise as if it had not stopped. The functions here are
``fit``'s; use them through it:

>>> import os, tempfile, xpnet as xn
>>> from xpnet import nn
>>> X, y = xn.asarray([[0.0, 1.0], [1.0, 0.0]] * 8), xn.asarray([1, 0] * 8)
>>> def run(epochs, **kw):
...     xn.manual_seed(0)
...     model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
...     opt = xn.optim.SGD(model.parameters(), lr=0.1)
...     xn.fit(model, (X, y), optimizer=opt, epochs=epochs, batch_size=4, shuffle=True, progress=False, **kw)
...     return xn.to_numpy(model(X).data)
>>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
>>> first = run(2, checkpoint=path)                       # stops after 2 epochs
>>> resumed = run(4, resume=path)                         # continues up to 4 epochs in total
>>> bool((resumed == run(4)).all())                       # as if it had never stopped
True
"""
from __future__ import annotations

import pathlib

from .checkpoint import CheckpointError, _npz_path
from .checkpoint import load as _load
from .checkpoint import save as _save
from .history import History


def checkpoint_path(path) -> pathlib.Path:
    """The file ``fit(checkpoint=path)`` writes: ``path`` with ``.npz`` appended if missing."""
    if not isinstance(path, (str, pathlib.PurePath)):
        raise TypeError(f"fit: checkpoint: expected a file path, got {type(path).__name__}")
    return _npz_path(path)


def _early_state(es):
    if es is None or not hasattr(es, "wait"):
        return None
    best = es.best if isinstance(es.best, float) else float(es.best)
    return {"best": best if best == best and abs(best) != float("inf") else repr(best),
            "best_epoch": es.best_epoch, "wait": es.wait}


def save(path, *, model, optimizer, scheduler, loader, stream, epoch, history, early_stopping):
    """Write the run state after ``epoch`` epochs (atomically, as ``xn.save``)."""
    extra = {
        "stream": stream.get_state(),
        "loader_stream": None if loader.generator is None else loader.generator.get_state(),
        "history": history.to_dict(),
        "early_stopping": _early_state(early_stopping),
    }
    return _save({"model": model, "optimizer": optimizer, "epoch": epoch,
                  **({"scheduler": scheduler} if scheduler is not None else {})}, path, rng=False, extra=extra)


def restore(path, *, model, optimizer, scheduler, loader, stream, early_stopping):
    """Load ``path`` into the run's objects (all-or-nothing) and return (epochs done, History)."""
    ck = _load(path)  # validated, nothing applied yet
    extra = ck.get("extra")
    if not isinstance(extra, dict) or "stream" not in extra or not isinstance(ck.get("epoch"), int):
        raise CheckpointError(f"fit: resume: {path} was not written by fit(checkpoint=...): it lacks the run state "
                              "(epoch, random streams, history)")
    ck = _load(path, model=model, optimizer=optimizer, scheduler=scheduler, restore_rng=False)
    try:
        stream.set_state(extra["stream"])
        if extra.get("loader_stream") is not None:
            if loader.generator is None:
                raise ValueError("the checkpoint has a seeded loader stream but this run's loader has none "
                                 "(pass the same seed or generator as the first run)")
            loader.generator.set_state(extra["loader_stream"])
        history = History()
        h = extra.get("history") or {}
        for k, v in (h.get("history") or {}).items():
            history.history[k] = [float("nan") if x is None else x for x in v]
        es = extra.get("early_stopping")
        if es is not None and early_stopping is not None and hasattr(early_stopping, "wait"):
            best = es["best"]
            early_stopping.best = float(best) if not isinstance(best, str) else float(best.strip("'"))
            early_stopping.best_epoch, early_stopping.wait = es["best_epoch"], es["wait"]
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"fit: resume: {path}: {e}") from None
    return ck["epoch"], history
