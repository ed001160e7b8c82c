# purity: host -- checkpoints are NumPy .npz files written on the host
"""Checkpoints: ``xn.save`` / ``xn.load``.

Format: one ``.npz`` holding every array (model parameters and buffers, optimiser state) under
``model/<name>`` and ``optimizer/<param index>/<key>``, plus ``__meta__``: UTF-8 JSON (optimiser
hyper-parameters and step counts, scheduler state, generator state, epoch, config). Loading uses
``allow_pickle=False``: a checkpoint can never run code. Writing goes to a temporary file in the
same folder, then ``os.replace``: a crash mid-write leaves the previous file intact.
"""
from __future__ import annotations

import io
import json
import pathlib

import numpy as np

from ..backend import backend_of, is_array, to_numpy
from ..backend import random as _random
from ..io import write_atomic
from ..nn import Module

FORMAT = "xpnet-checkpoint-1"


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)


def save(obj, path, *, optimizer=None, scheduler=None, epoch=None, config=None, rng: bool = True) -> pathlib.Path:
    """Save a Module, or a dict with ``model``, ``optimizer``, ``scheduler``, ``epoch``, ``config``,
    atomically to ``path`` (``.npz`` appended if missing). ``rng``: include the generator state of the
    model's backend, so that a resumed run draws the same dropout masks and shuffles."""
    ck = {"model": obj} if isinstance(obj, Module) else dict(obj)
    if optimizer is not None:
        ck["optimizer"] = optimizer
    if scheduler is not None:
        ck["scheduler"] = scheduler
    if epoch is not None:
        ck["epoch"] = epoch
    if config is not None:
        ck["config"] = config
    unknown = set(ck) - {"model", "optimizer", "scheduler", "epoch", "config"}
    if unknown:
        raise KeyError(f"save: unknown checkpoint keys {sorted(unknown)}; expected model, optimizer, scheduler, epoch, config")
    arrays, meta = {}, {"format": FORMAT}
    model = ck.get("model")
    if model is not None:
        if not isinstance(model, Module):
            raise TypeError(f"save: model must be an xpnet Module, got {type(model).__name__}")
        for k, v in model.state_dict().items():
            arrays[f"model/{k}"] = np.asarray(to_numpy(v))
        meta["model_keys"] = list(model.state_dict())
        if rng:
            p = next(iter(model.parameters()), None)
            if p is not None:
                meta["rng"] = _random.get_state(backend_of(p.data))
    opt = ck.get("optimizer")
    if opt is not None:
        sd = opt.state_dict()
        state_meta = {}
        for i, st in sd["state"].items():
            state_meta[str(i)] = {}
            for k, v in st.items():
                if is_array(v):
                    arrays[f"optimizer/{i}/{k}"] = np.asarray(to_numpy(v))
                else:
                    state_meta[str(i)][k] = _jsonable(v)
        meta["optimizer"] = {"type": type(opt).__name__, "param_groups": _jsonable(sd["param_groups"]),
                             "state": state_meta}
    sch = ck.get("scheduler")
    if sch is not None:
        meta["scheduler"] = {"type": type(sch).__name__, "state": _jsonable(sch.state_dict())}
    for k in ("epoch", "config"):
        if k in ck:
            meta[k] = _jsonable(ck[k])
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path = pathlib.Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_atomic(path, buf.getvalue())


def load(path, model=None, optimizer=None, scheduler=None, restore_rng: bool = True) -> dict:
    """Read a checkpoint; returns ``{"model": {name: ndarray}, "optimizer": state_dict, "scheduler":
    state, "rng": state, "epoch": ..., "config": ...}``. Objects passed in are restored in place
    (arrays move to each object's backend), and with ``restore_rng`` the generator state too."""
    path = pathlib.Path(path)
    if not path.exists() and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    if not path.exists():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (ValueError, OSError) as e:
        raise ValueError(f"load: {path} is not an xpnet checkpoint ({e})") from None
    if "__meta__" not in data:
        raise ValueError(f"load: {path} is not an xpnet checkpoint (no __meta__ entry)")
    meta = json.loads(bytes(data.pop("__meta__")).decode("utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"load: {path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    out = {k: meta[k] for k in ("epoch", "config", "rng") if k in meta}
    out["model"] = {k: data[f"model/{k}"] for k in meta.get("model_keys", [])}
    if "optimizer" in meta:
        om = meta["optimizer"]
        state = {}
        for i, scalars in om["state"].items():
            state[int(i)] = dict(scalars)
        for k, v in data.items():
            if k.startswith("optimizer/"):
                _, i, name = k.split("/", 2)
                state.setdefault(int(i), {})[name] = v
        for g in om["param_groups"]:
            if "betas" in g:
                g["betas"] = tuple(g["betas"])
        out["optimizer"] = {"state": state, "param_groups": om["param_groups"]}
    if "scheduler" in meta:
        out["scheduler"] = meta["scheduler"]["state"]
    if model is not None:
        model.load_state_dict(out["model"])
        if restore_rng and "rng" in out:
            p = next(iter(model.parameters()), None)
            if p is not None:
                _random.set_state(backend_of(p.data), out["rng"])
    if optimizer is not None:
        if "optimizer" not in out:
            raise KeyError(f"load: {path} holds no optimizer state")
        optimizer.load_state_dict(out["optimizer"])
    if scheduler is not None:
        if "scheduler" not in out:
            raise KeyError(f"load: {path} holds no scheduler state")
        scheduler.load_state_dict(out["scheduler"])
    return out
