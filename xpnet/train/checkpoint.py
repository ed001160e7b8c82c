# purity: host -- checkpoints are NumPy .npz files written on the host
"""Checkpoints: ``xn.save`` / ``xn.load``.

Format: one ``.npz`` (a zip of ``.npy`` members) holding every array (model parameters and buffers,
optimiser state) under ``model/<name>`` and ``optimizer/<param index>/<key>``, plus ``__meta__``:
UTF-8 JSON (the dtype and shape of every array, optimiser hyper-parameters and step counts,
scheduler state, random streams, epoch, config, run state for ``fit(resume=...)``).

Loading never unpickles, reads only the members the metadata names (each header checked against
the declared dtype, shape and size before its data is read), refuses whatever is not a valid
checkpoint with one error type, :class:`CheckpointError`, naming the file and the problem, and is
all-or-nothing: everything is validated before anything is applied. Writing goes to a temporary file
in the same folder, then ``os.replace`` (:func:`xpnet.io.write_atomic`): a crash mid-write leaves the
previous file intact, and the next save or load removes the temporary files of killed writes.
"""
from __future__ import annotations

import io
import json
import math
import pathlib
import zipfile

import numpy as np

from ..backend import backend_of, is_array, to_numpy
from ..backend import random as _random
from ..backend.registry import rng_kinds
from ..io import remove_stale_temps, write_atomic
from ..nn import Module

FORMAT = "xpnet-checkpoint-1"
_META = "__meta__.npy"
_MAX_META = 64 << 20  # bytes of JSON
_MAX_HEADER = 1 << 16  # bytes of an .npy header
_ARRAY_KINDS = "fiub"  # float, signed, unsigned, bool (complex and objects are never weights)


class CheckpointError(ValueError):
    """A file that is not a valid xpnet checkpoint, or one that does not fit the objects it is
    loaded into. The message names the file and the problem.

    >>> import os, tempfile, xpnet as xn
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.npz")
    >>> with open(path, "w") as f:
    ...     _ = f.write("not a checkpoint")
    >>> xn.load(path)
    Traceback (most recent call last):
    ...
    xpnet.train.checkpoint.CheckpointError: load: ...notes.npz: is not a zip archive of .npy arrays as xn.save writes ...
    """


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


def _npz_path(path) -> pathlib.Path:
    path = pathlib.Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def save(obj, path, *, optimizer=None, scheduler=None, epoch=None, config=None, rng: bool = True,
         extra=None) -> pathlib.Path:
    """Save a Module, or a dict with ``model``, ``optimizer``, ``scheduler``, ``epoch``, ``config``,
    atomically to ``path`` (``.npz`` appended if missing). ``rng``: include this thread's stream of
    the model's backend, so that a resumed run draws the same dropout masks and shuffles.
    ``extra``: JSON-able run state (``fit`` stores its loader stream, history and early stopping).
    Returns the path written. The format is documented at the top of this module.

    >>> import os, tempfile, xpnet as xn
    >>> model = xn.nn.Linear(3, 2)
    >>> opt = xn.optim.SGD(model.parameters(), lr=0.1)
    >>> path = xn.save(model, os.path.join(tempfile.mkdtemp(), "model"), optimizer=opt, epoch=3)
    >>> path.name
    'model.npz'
    """
    ck = {"model": obj} if isinstance(obj, Module) else dict(obj) if isinstance(obj, dict) else None
    if ck is None:
        raise TypeError(f"save: expected an xn.nn.Module or a dict with 'model', 'optimizer', ..., "
                        f"got {type(obj).__name__}")
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
    if "epoch" in ck and ck["epoch"] is not None and (
            not isinstance(ck["epoch"], int) or isinstance(ck["epoch"], bool) or ck["epoch"] < 0):
        raise ValueError(f"save: epoch: expected an int >= 0, got {ck['epoch']!r}")
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
    if extra is not None:
        meta["extra"] = _jsonable(extra)
    meta["arrays"] = {k: [v.dtype.str, list(v.shape)] for k, v in arrays.items()}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path = _npz_path(path)
    if path.is_dir():
        raise IsADirectoryError(f"save: {path} is a folder; expected a file path such as {path / 'model.npz'}")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_atomic(path, buf.getvalue())


# -- reading ------------------------------------------------------------------------------------------
class _Reader:
    """The members of one checkpoint, read lazily, each checked before its data is read."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise self.error(f"is not a zip archive of .npy arrays as xn.save writes ({type(e).__name__}: {e})") from None
        names = [i.filename for i in self.zf.infolist()]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            self.zf.close()
            raise self.error(f"holds duplicated members {dup[:5]}: refused, it is ambiguous which one is meant")
        self.info = {i.filename: i for i in self.zf.infolist()}

    def error(self, problem: str) -> CheckpointError:
        return CheckpointError(f"load: {self.path}: {problem}")

    def close(self):
        self.zf.close()

    def array(self, key: str, declared=None, max_bytes=None, shape_expected=None) -> np.ndarray:
        """Member ``key`` (+ ``.npy``) as an array; ``declared``: (dtype str, shape) from the metadata;
        ``shape_expected``: the shape the object it loads into needs (checked before reading data)."""
        info = self.info.get(key + ".npy")
        if info is None:
            raise self.error(f"lacks the array {key!r} its metadata names")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > 1100 * max(info.compress_size, 1):
            raise self.error(f"member {key!r} declares {info.file_size} bytes from {info.compress_size} compressed: "
                             "more than any real compression gives; refused")
        try:
            with self.zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=_MAX_HEADER)
                elif version in ((2, 0), (3, 0)):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=_MAX_HEADER)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
                if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None:
                    raise self.error(f"array {key!r} has dtype {dtype}; expected a real numeric dtype "
                                     "(object, complex and structured arrays are refused)")
                if any(not isinstance(d, int) or d < 0 for d in shape):
                    raise self.error(f"array {key!r} has an invalid shape {shape}")
                if declared is not None and (np.dtype(declared[0]) != dtype or list(shape) != list(declared[1])):
                    raise self.error(f"array {key!r} is {dtype} {tuple(shape)} but the metadata declares "
                                     f"{np.dtype(declared[0])} {tuple(declared[1])}")
                if shape_expected is not None and tuple(shape) != tuple(shape_expected):
                    raise self.error(f"{key!r} has shape {tuple(shape)}, the model expects {tuple(shape_expected)}")
                nbytes = math.prod(shape) * dtype.itemsize
                if max_bytes is not None and nbytes > max_bytes:
                    raise self.error(f"array {key!r} declares {nbytes} bytes, more than the {max_bytes} expected")
                header = info.file_size - nbytes
                if not 0 < header <= _MAX_HEADER + 16:
                    raise self.error(f"array {key!r}: its header declares {nbytes} bytes of data but the member "
                                     f"holds {info.file_size} bytes")
                data = f.read(nbytes)
        except CheckpointError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError, OverflowError, MemoryError) as e:
            raise self.error(f"array {key!r} is not a valid .npy member ({type(e).__name__}: {e})") from None
        if len(data) != nbytes:
            raise self.error(f"array {key!r} is truncated: {len(data)} of {nbytes} bytes")
        a = np.frombuffer(bytearray(data), dtype=dtype)  # writable: loaded state is updated in place
        return a.reshape(shape[::-1]).T if fortran else a.reshape(shape)

    def meta(self) -> dict:
        info = self.info.get(_META)
        if info is None:
            raise self.error("is not an xpnet checkpoint (no __meta__ entry)")
        if info.file_size > _MAX_META:
            raise self.error(f"__meta__ declares {info.file_size} bytes, more than the {_MAX_META} allowed")
        raw = self.array("__meta__", max_bytes=_MAX_META)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise self.error(f"__meta__ is {raw.dtype} {raw.shape}; expected the uint8 bytes of a JSON object")
        try:
            meta = json.loads(raw.tobytes().decode("utf-8"))
        except UnicodeDecodeError as e:
            raise self.error(f"__meta__ is not UTF-8 text ({e})") from None
        except json.JSONDecodeError as e:
            raise self.error(f"__meta__ is not valid JSON ({e})") from None
        if not isinstance(meta, dict):
            raise self.error(f"__meta__ is a JSON {type(meta).__name__}; expected an object")
        if meta.get("format") != FORMAT:
            raise self.error(f"has format {meta.get('format')!r}, expected {FORMAT!r}")
        return meta


def _need(reader, cond, problem):
    if not cond:
        raise reader.error(problem)


def _is_int(v, lo=0):
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _check_meta(r: _Reader, meta: dict) -> None:
    """Types of every metadata field used."""
    keys = meta.get("model_keys", [])
    _need(r, isinstance(keys, list) and all(isinstance(k, str) for k in keys),
          f"model_keys is {type(keys).__name__}; expected a list of names")
    _need(r, len(set(keys)) == len(keys), "model_keys names a key twice")
    arrays = meta.get("arrays")
    if arrays is not None:
        _need(r, isinstance(arrays, dict) and all(
            isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], list)
            and all(_is_int(d) for d in v[1]) for v in arrays.values()),
            "the 'arrays' table is malformed; expected {name: [dtype, shape]}")
        for name, (dt, _) in arrays.items():
            try:
                np.dtype(dt)
            except TypeError:
                raise r.error(f"array {name!r} declares an unknown dtype {dt!r}") from None
    if "epoch" in meta and meta["epoch"] is not None:
        _need(r, _is_int(meta["epoch"]), f"epoch is {meta['epoch']!r}; expected an int >= 0")
    if "rng" in meta:
        _need(r, isinstance(meta["rng"], dict) and meta["rng"].get("kind") in rng_kinds(),
              "rng is not a generator state")
    if "optimizer" in meta:
        om = meta["optimizer"]
        _need(r, isinstance(om, dict) and isinstance(om.get("type"), str)
              and isinstance(om.get("param_groups"), list) and isinstance(om.get("state"), dict),
              "optimizer is malformed; expected {type, param_groups, state}")
        for g in om["param_groups"]:
            _need(r, isinstance(g, dict) and isinstance(g.get("params"), list)
                  and all(_is_int(i) for i in g["params"]), "optimizer param_groups are malformed")
            for k, v in g.items():
                if k in ("lr", "momentum", "weight_decay", "eps", "dampening", "initial_lr"):
                    _need(r, isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
                          f"optimizer {k} is {v!r}; expected a finite number")
        for i, st in om["state"].items():
            _need(r, i.isdigit() and isinstance(st, dict), f"optimizer state {i!r} is malformed")
    if "scheduler" in meta:
        sm = meta["scheduler"]
        _need(r, isinstance(sm, dict) and isinstance(sm.get("type"), str) and isinstance(sm.get("state"), dict),
              "scheduler is malformed; expected {type, state}")
    if "extra" in meta:
        _need(r, isinstance(meta["extra"], dict), "extra (fit's run state) is not an object")


def _read(path, model=None, optimizer=None) -> tuple:
    """(meta, model arrays, optimizer dict or None) of ``path``, every member validated (against the
    shapes of ``model`` and ``optimizer``'s parameters when given, before any data is read)."""
    path = _npz_path(path) if not pathlib.Path(path).exists() and _npz_path(path).exists() else pathlib.Path(path)
    remove_stale_temps(path)
    if path.is_dir():
        raise CheckpointError(f"load: {path} is a folder, not a checkpoint file")
    if not path.exists():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    r = _Reader(path)
    try:
        meta = r.meta()
        _check_meta(r, meta)
        declared = meta.get("arrays") or {}
        own = {} if model is None else {k: tuple(v.shape) for k, v in model.state_dict().items()}
        model = {k: r.array(f"model/{k}", declared.get(f"model/{k}"), shape_expected=own.get(k))
                 for k in meta.get("model_keys", [])}
        pshapes = [] if optimizer is None else [tuple(p.shape) for g in optimizer.param_groups for p in g["params"]]
        opt = None
        if "optimizer" in meta:
            om = meta["optimizer"]
            state = {int(i): dict(scalars) for i, scalars in om["state"].items()}
            prefix = "optimizer/"
            names = [n[:-4] for n in r.info if n.startswith(prefix) and n.endswith(".npy")]
            if declared:
                names = [n for n in declared if n.startswith(prefix)]
            for name in names:
                parts = name.split("/", 2)
                _need(r, len(parts) == 3 and parts[1].isdigit(), f"optimizer member {name!r} is misnamed")
                i = int(parts[1])
                want = pshapes[i] if i < len(pshapes) else None
                state.setdefault(i, {})[parts[2]] = r.array(name, declared.get(name), shape_expected=want)
            groups = []
            for g in om["param_groups"]:
                g = dict(g)
                if "betas" in g:
                    _need(r, isinstance(g["betas"], list) and len(g["betas"]) == 2, "optimizer betas are malformed")
                    g["betas"] = tuple(g["betas"])
                groups.append(g)
            opt = {"type": om["type"], "state": state, "param_groups": groups}
    finally:
        r.close()
    return path, meta, model, opt


def _check_fits(path, model_arrays, model) -> None:
    err = lambda problem: CheckpointError(f"load: {path}: {problem}")
    own = model.state_dict()
    missing = [k for k in own if k not in model_arrays]
    unexpected = [k for k in model_arrays if k not in own]
    if missing or unexpected:
        raise err(f"does not fit the model: missing keys {missing}, unexpected keys {unexpected}")
    for k, target in own.items():
        a = model_arrays[k]
        if tuple(a.shape) != tuple(target.shape):
            raise err(f"{k!r} has shape {tuple(a.shape)}, the model expects {tuple(target.shape)}")
        xp = backend_of(target).xp
        if xp.isdtype(target.dtype, "real floating"):
            if a.dtype.kind != "f":
                raise err(f"{k!r} is {a.dtype}, the model expects floating weights ({target.dtype})")
            bad = int(np.count_nonzero(~np.isfinite(a)))
            if bad:
                raise err(f"{k!r} holds {bad} NaN or infinite values; refused (a model must load finite weights)")
        elif a.dtype.kind not in "iu":
            raise err(f"{k!r} is {a.dtype}, the model expects integers ({target.dtype})")


def _check_optimizer_fits(path, opt, optimizer) -> None:
    err = lambda problem: CheckpointError(f"load: {path}: {problem}")
    if opt["type"] != type(optimizer).__name__:
        raise err(f"holds a {opt['type']} state; it cannot load into a {type(optimizer).__name__}")
    groups = opt["param_groups"]
    if len(groups) != len(optimizer.param_groups) or any(
            len(a["params"]) != len(b["params"]) for a, b in zip(groups, optimizer.param_groups)):
        raise err("its optimizer parameter groups do not match this optimizer's "
                  f"({[len(g['params']) for g in groups]} vs {[len(g['params']) for g in optimizer.param_groups]})")
    params = [p for g in optimizer.param_groups for p in g["params"]]
    for i, st in opt["state"].items():
        if i >= len(params):
            raise err(f"optimizer state for parameter {i}, but the optimizer has {len(params)}")
        for k, v in st.items():
            if isinstance(v, np.ndarray):
                if tuple(v.shape) != tuple(params[i].shape):
                    raise err(f"optimizer state {i}/{k} has shape {tuple(v.shape)}, the parameter {tuple(params[i].shape)}")
                if v.dtype.kind != "f" or not np.all(np.isfinite(v)):
                    raise err(f"optimizer state {i}/{k} is not finite floating data ({v.dtype})")
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                raise err(f"optimizer state {i}/{k} is {v!r}; expected a number or an array")


def load(path, model=None, optimizer=None, scheduler=None, restore_rng: bool = True) -> dict:
    """Read a checkpoint; returns ``{"model": {name: ndarray}, "optimizer": state_dict, "scheduler":
    state, "rng": state, "epoch": ..., "config": ...}``. Objects passed in are restored in place
    (arrays move to each object's backend), and with ``restore_rng`` the generator state too.
    Everything is validated first, then applied: on any error nothing has changed. Raises
    :class:`CheckpointError` (a ``ValueError``) naming the file and the problem.

    >>> import os, tempfile, xpnet as xn
    >>> model = xn.nn.Linear(3, 2)
    >>> path = xn.save(model, os.path.join(tempfile.mkdtemp(), "model.npz"), epoch=3)
    >>> fresh = xn.nn.Linear(3, 2)
    >>> checkpoint = xn.load(path, model=fresh)
    >>> sorted(checkpoint), checkpoint["epoch"]
    (['epoch', 'model', 'rng'], 3)
    >>> bool((xn.to_numpy(fresh.weight.data) == xn.to_numpy(model.weight.data)).all())
    True
    """
    if model is not None and not isinstance(model, Module):
        raise TypeError(f"load: model: expected an xn.nn.Module, got {type(model).__name__}")
    path, meta, model_arrays, opt = _read(path, model, optimizer)
    out = {k: meta[k] for k in ("epoch", "config", "rng", "extra") if k in meta}
    out["model"] = model_arrays
    if opt is not None:
        out["optimizer"] = {"state": opt["state"], "param_groups": opt["param_groups"]}
    if "scheduler" in meta:
        out["scheduler"] = meta["scheduler"]["state"]
    # validate everything against the objects ...
    if model is not None:
        _check_fits(path, model_arrays, model)
    if optimizer is not None:
        if opt is None:
            raise CheckpointError(f"load: {path}: holds no optimizer state")
        _check_optimizer_fits(path, opt, optimizer)
    if scheduler is not None:
        if "scheduler" not in meta:
            raise CheckpointError(f"load: {path}: holds no scheduler state")
        if meta["scheduler"]["type"] != type(scheduler).__name__:
            raise CheckpointError(f"load: {path}: holds a {meta['scheduler']['type']} state; it cannot load into a "
                                  f"{type(scheduler).__name__}")
        unknown = set(out["scheduler"]) - set(scheduler.state_dict())
        if unknown:
            raise CheckpointError(f"load: {path}: the scheduler state has fields {sorted(unknown)} that a "
                                  f"{type(scheduler).__name__} does not")
    # ... then apply, undoing everything if an object still refuses
    saved = _snapshot(model, optimizer, scheduler)
    try:
        if model is not None:
            model.load_state_dict(model_arrays)
            if restore_rng and "rng" in out:
                p = next(iter(model.parameters()), None)
                b = None if p is None else backend_of(p.data)
                if b is not None and out["rng"].get("kind") == b.rng_kind:
                    _random.set_state(b, out["rng"])  # a stream of another backend cannot continue here
        if optimizer is not None:
            optimizer.load_state_dict(out["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(dict(out["scheduler"]))
    except Exception as e:
        _restore(saved, model, optimizer, scheduler)
        raise CheckpointError(f"load: {path}: does not fit the objects it is loaded into ({type(e).__name__}: {e}); "
                              "nothing was changed") from None
    return out


def _snapshot(model, optimizer, scheduler):
    import copy

    m = None if model is None else {k: to_numpy(v).copy() for k, v in model.state_dict().items()}
    o = None
    if optimizer is not None:
        sd = optimizer.state_dict()
        o = {"state": {i: {k: (to_numpy(v).copy() if is_array(v) else v) for k, v in st.items()}
                       for i, st in sd["state"].items()}, "param_groups": copy.deepcopy(sd["param_groups"])}
    s = None if scheduler is None else copy.deepcopy(scheduler.state_dict())
    return m, o, s


def _restore(saved, model, optimizer, scheduler):
    m, o, s = saved
    if model is not None:
        model.load_state_dict(m)
    if optimizer is not None:
        optimizer.load_state_dict(o)
    if scheduler is not None:
        scheduler.load_state_dict(s)
