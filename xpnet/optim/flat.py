"""Flat parameter storage, decided once when the optimiser is built.

An optimiser sorts the parameters of each parameter group into buckets of one namespace, dtype and
device. Each bucket stores its parameters in **one flat array** ``P``: at construction the values are
copied into ``P`` and every ``param.data`` becomes a view of its slice of ``P`` (reshaped to the
parameter's shape). A step then concatenates the gradients into one flat ``G`` (one operation; a
missing gradient counts as zeros) and runs the optimiser's update once, as plain array code over
``P``, ``G`` and flat state arrays (momentum, Adam moments): a handful of operations per bucket
instead of a handful per parameter (tinygrad allocates its fused optimiser the same way). Elementwise
updates do not depend on the layout, so the result is bit-identical to the per-parameter loop.

Contract (what a user may rely on):

- After ``opt = SGD(model.parameters(), ...)`` every optimised ``p.data`` is a view of the flat buffer;
  in-place writes (``p.data[...] = x``, ``model.load_state_dict``) reach it directly.
- Assigning a new array (``p.data = x``, same shape, dtype, namespace and device) is copied into the
  buffer at the next step, and ``p.data`` is the view again.
- Moving the model (``model.to(target)``) after the first step needs ``optimizer.to(target)``, which
  moves the state and builds the storage again on the new device (a step without it raises); before
  the first step there is no state, and the storage is built again where the parameters are.
- Only namespaces that guarantee views get flat storage: the backend declares it
  (:func:`xpnet.backend.views.supports_views`) and a probe made once per namespace confirms that
  in-place updates of a buffer reach its views and back. Elsewhere (``array_api_strict``), with
  ``foreach=False``, and for parameters frozen (``requires_grad=False``) when the optimiser is built,
  the per-parameter loop runs, which skips a parameter without a gradient (PyTorch).
- State (``optimizer.state``, ``state_dict``) is shown per parameter, as views of the flat state.
"""
from __future__ import annotations

import functools
import math

from ..backend import is_array, to_numpy
from ..backend.views import supports_views


def views_write_through(xp) -> bool:
    """True when ``xp`` is declared view-safe and a probe confirms it (once per namespace): an in-place
    update of a flat buffer reaches a reshaped slice of it, and a write into the slice reaches the buffer."""
    try:
        return _probe_once(xp)
    except TypeError:  # a namespace object that cannot be hashed: probe it each time
        return _probe(xp)


@functools.lru_cache(maxsize=None)
def _probe_once(xp) -> bool:
    return _probe(xp)


def _probe(xp) -> bool:
    if not supports_views(xp):
        return False
    try:
        flat = xp.zeros((6,), dtype=xp.float32)
        buf = flat
        view = xp.reshape(flat[2:6], (2, 2))
        buf -= xp.ones((6,), dtype=xp.float32)
        view[...] = xp.full((2, 2), 5.0, dtype=xp.float32)
        got = to_numpy(flat).tolist()
        return buf is flat and got == [-1.0, -1.0, 5.0, 5.0, 5.0, 5.0]
    except Exception:  # noqa: BLE001 - any failure means: no view guarantee here
        return False


def _device(a):
    return getattr(a, "device", None)


class FlatBucket:
    """Parameters of one namespace, dtype and device stored as views of one flat array ``data``;
    ``state`` holds the optimiser's flat state (arrays of ``data``'s shape, and numbers)."""

    def __init__(self, params):
        xp = params[0]._xp
        self.xp, self.params = xp, list(params)
        self.shapes = [tuple(p.data.shape) for p in self.params]
        self.bounds, start = [], 0
        for s in self.shapes:
            n = math.prod(s)
            self.bounds.append((start, start + n))
            start += n
        self.data = xp.concat([xp.reshape(p.data, (-1,)) for p in self.params])
        self.views = [self._view(self.data, i) for i in range(len(self.params))]
        for p, v in zip(self.params, self.views):
            p.data = v
        self.state: dict = {}
        self.stepped = False  # per-parameter state is shown (possibly empty, as plain SGD's) once stepped
        self._zeros: dict = {}

    def _view(self, flat, i):
        a, b = self.bounds[i]
        return self.xp.reshape(flat[a:b], self.shapes[i])

    def sync(self, owner: str) -> bool:
        """Take back a parameter whose ``data`` was replaced by another array (copy it into the buffer).
        A parameter moved to another namespace or device: False before the first step (the optimiser
        builds its storage again), else an error (``optimizer.to`` moves the state and rebuilds)."""
        for i, (p, v) in enumerate(zip(self.params, self.views)):
            new = p.data
            if new is v:
                continue
            if p._xp is not self.xp or _device(new) != _device(self.data) or new.dtype != self.data.dtype:
                if not self.stepped:
                    return False
                raise RuntimeError(
                    f"{owner}.step: a parameter moved to another backend, device or dtype "
                    f"({getattr(self.xp, '__name__', self.xp)} {_device(self.data)} {self.data.dtype} -> "
                    f"{getattr(p._xp, '__name__', p._xp)} {_device(new)} {new.dtype}) but the optimiser state did "
                    "not; call optimizer.to(target) after model.to(target), or create the optimiser again")
            if tuple(new.shape) != self.shapes[i]:
                raise RuntimeError(f"{owner}.step: a parameter's data was replaced by an array of shape "
                                   f"{tuple(new.shape)}, expected {self.shapes[i]} (its optimiser state has that shape)")
            a, b = self.bounds[i]
            self.data[a:b] = self.xp.reshape(new, (-1,))
            p.data = v
        return True

    def grad(self, owner: str):
        """The flat gradient G: one concatenation; a parameter without a gradient contributes zeros.
        A parameter frozen after the optimiser was built would be moved by weight decay or momentum
        with a zero gradient, so that raises instead."""
        xp, parts = self.xp, []
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                if not p.requires_grad:
                    raise RuntimeError(
                        f"{owner}.step: a parameter of shape {self.shapes[i]} was frozen (requires_grad=False) after "
                        "the optimiser was built; its flat storage would update it with a zero gradient. Freeze "
                        "parameters before building the optimiser, or pass only the trainable ones "
                        "(p for p in model.parameters() if p.requires_grad)")
                g = self._zeros.get(i)
                if g is None:
                    a, b = self.bounds[i]
                    g = self._zeros[i] = xp.zeros_like(self.data[a:b])
            parts.append(xp.reshape(g, (-1,)))
        return parts[0] if len(parts) == 1 else xp.concat(parts)

    # -- state, per parameter ------------------------------------------------------------------
    def per_param_state(self) -> dict:
        """``{param: {name: view of the flat state, or number}}`` (empty before the first step)."""
        if not self.stepped:
            return {}
        out = {}
        for i, p in enumerate(self.params):
            out[p] = {k: (self._view(v, i) if is_array(v) else v) for k, v in self.state.items()}
        return out

    def gather_state(self, per: dict, owner: str) -> bool:
        """Set the flat state from per-parameter entries (``load_state_dict``, ``to``). False when
        they do not form one state (some parameters without state, or different step counts, as a
        checkpoint of a run whose parameters did not all get gradients): then the bucket is dissolved."""
        entries = [per.get(p) for p in self.params]
        if all(e is None for e in entries):
            self.state, self.stepped = {}, False
            return True
        if any(e is None for e in entries) or len({tuple(sorted(e)) for e in entries}) != 1:
            return False
        xp, flat = self.xp, {}
        for k in entries[0]:
            vals = [e[k] for e in entries]
            if all(is_array(v) for v in vals):
                for i, v in enumerate(vals):
                    if tuple(v.shape) != self.shapes[i]:
                        raise ValueError(f"{owner}.load_state_dict: state {k!r} of a parameter has shape "
                                         f"{tuple(v.shape)}, expected {self.shapes[i]}")
                flat[k] = xp.concat([xp.reshape(v, (-1,)) for v in vals])
            elif not any(is_array(v) for v in vals) and all(v == vals[0] for v in vals):
                flat[k] = vals[0]
            else:
                return False
        self.state, self.stepped = flat, True
        return True


def build_storage(params, owner: str, flat: bool = True):
    """(buckets, loose): the flat buckets of ``params`` (one per namespace, dtype and device, in
    first-seen order) and the parameters left to the per-parameter loop."""
    if not flat:
        return [], list(params)
    groups, loose = [], []
    for p in params:
        if not p.requires_grad or not views_write_through(p._xp):
            loose.append(p)
            continue
        for g in groups:
            q = g[0]
            if q._xp is p._xp and q.data.dtype == p.data.dtype and _device(q.data) == _device(p.data):
                g.append(p)
                break
        else:
            groups.append([p])
    return [FlatBucket(g) for g in groups], loose
