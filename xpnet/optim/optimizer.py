"""``Optimizer``: parameter groups, per-parameter state, in-place updates, state_dict."""
from __future__ import annotations

import copy
import math

from ..autograd import no_grad
from ..backend import asarray, backend_of, is_array, to_device
from ..tensor import Tensor
from .flat import build_storage


def check_number(owner: str, name: str, value, low=None, low_inclusive=True, high=None, high_inclusive=True):
    """``value`` as a float after checking it is a real, finite Python number inside the bounds
    (TypeError for a wrong type, ValueError for a wrong value; both name the argument and the value)."""
    if getattr(value, "shape", None) == () and not isinstance(value, bool):  # a 0-d array or Tensor (PyTorch allows)
        try:
            value = float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError):
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    if low is not None and (v < low or (v == low and not low_inclusive)):
        raise ValueError(f"{owner}: {name} must be {'>=' if low_inclusive else '>'} {low}, got {value!r}")
    if high is not None and (v > high or (v == high and not high_inclusive)):
        raise ValueError(f"{owner}: {name} must be {'<=' if high_inclusive else '<'} {high}, got {value!r}")
    return value


def check_flag(owner: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def implementation_flags(owner: str, foreach=None, fused=None, differentiable=False, capturable=False) -> None:
    """PyTorch's implementation-only switches: ``fused``/``capturable`` select a kernel and do not change
    the result, so they are accepted and ignored (``foreach=False`` selects the per-parameter loop, see
    :class:`Optimizer`); ``differentiable=True`` (autograd
    through the update) is not supported and says so."""
    for name, v in (("foreach", foreach), ("fused", fused)):
        if v is not None and not isinstance(v, bool):
            raise TypeError(f"{owner}: {name} must be None, True or False, got {v!r}")
    check_flag(owner, "capturable", capturable)
    if check_flag(owner, "differentiable", differentiable):
        raise NotImplementedError(f"{owner}: differentiable=True (autograd through the optimiser step) is not "
                                  "supported by xpnet; leave differentiable=False")


# hyper-parameters added later: a state saved without them still loads
_OPTIONAL_KEYS = {"maximize", "foreach", "fused", "differentiable", "capturable", "decoupled_weight_decay"}


class Optimizer:
    """Base class (``torch.optim.Optimizer``): parameter groups, state, ``step``, ``state_dict``.

    Storage is decided once, here: the parameters of each group that share a namespace with view
    guarantees, a dtype and a device are stored as views of one flat buffer (:mod:`xpnet.optim.flat`:
    after construction ``p.data`` is such a view), and ``step`` runs the update once per buffer, a
    missing gradient counting as zeros. ``foreach=False`` (PyTorch's for-loop implementation) keeps
    every parameter's own array and updates them one by one, skipping a parameter without a gradient.

    Subclasses implement ``_update(xp, w, g, group, state)``: the update of the array ``w`` (a flat
    buffer or one parameter) by its gradient ``g``, in place, with the arrays of ``state``; it returns
    ``w``. Backend array operations only: no host round-trip.
    """

    def __init__(self, params, defaults: dict, foreach=None):
        self.defaults = defaults
        self.param_groups: list = []
        self._flat_storage = foreach is not False
        self._storage: list = []  # per group: (flat buckets, parameters of the per-parameter loop)
        self._loose_state: dict = {}
        self._home: dict = {}
        if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts "
                            f"(model.parameters()), got {type(params).__name__}")
        params = list(params) if not isinstance(params, Tensor) else [params]
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    @property
    def flat(self) -> bool:
        """True when some parameters are stored in flat buffers (decided at construction)."""
        return any(buckets for buckets, _ in self._storage)

    @property
    def state(self) -> dict:
        """``{param: {name: array or number}}`` (PyTorch layout). Arrays of flat-stored parameters are
        views of the flat state, so in-place changes reach it; a new dict is built on each access."""
        out = dict(self._loose_state)
        for buckets, _ in self._storage:
            for b in buckets:
                out.update(b.per_param_state())
        return out

    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        ps = group["params"]
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        named = [isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in ps]
        if any(named):  # model.named_parameters(), as PyTorch accepts
            if not all(named):
                raise ValueError(f"{type(self).__name__}: all parameters of a group must be given with names "
                                 "((name, tensor) pairs) or all without")
            group["param_names"] = [n for n, _ in ps]
            ps = [p for _, p in ps]
        if self.param_groups and any("param_names" in g for g in self.param_groups) != ("param_names" in group):
            raise ValueError(f"{type(self).__name__}: all parameter groups must be given with names or all without")
        group["params"] = ps
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: params must be Tensors, got {type(p).__name__}")
        ids = [id(p) for p in group["params"]]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{type(self).__name__}: a parameter appears more than once in one parameter group")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check(group)
        group.setdefault("initial_lr", group["lr"])
        self.param_groups.append(group)
        self._storage.append(build_storage(group["params"], type(self).__name__, self._flat_storage))

    def _check(self, group) -> None:
        group["lr"] = check_number(type(self).__name__, "lr", group["lr"], 0.0)
        check_flag(type(self).__name__, "maximize", group.get("maximize", False))

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = p._xp.zeros_like(p.grad)

    @no_grad()
    def step(self, closure=None):
        """One update of every parameter: one update per flat buffer (a missing gradient counts as
        zeros), then the per-parameter loop for the others (a parameter without a gradient is skipped)."""
        loss = closure() if closure is not None else None
        name = type(self).__name__
        if self._loose_state:
            self._check_home()
        for gi, group in enumerate(self.param_groups):
            buckets, loose = self._storage[gi]
            if not all(b.sync(name) for b in buckets):
                buckets, loose = self._rebuild(gi)
            for b in buckets:
                self._update(b.xp, b.data, b.grad(name), group, b.state)
                b.stepped = True
            for p in loose:
                if p.grad is None:
                    continue
                st = self._loose_state.get(p)
                if st is None:
                    st = self._loose_state[p] = {}
                    self._home[p] = (p._xp, getattr(p.data, "device", None))
                p.data = self._update(p._xp, p.data, p.grad, group, st)
        return loss

    def _rebuild(self, gi):
        """Parameters moved (``model.to``) before this group's first step: no state to move yet, so the
        storage is built again where the parameters are now."""
        group = self.param_groups[gi]
        if any(p in self._loose_state for p in group["params"]):
            raise RuntimeError(f"{type(self).__name__}.step: parameters moved to another backend or device but "
                               "the optimiser state did not; call optimizer.to(target) after model.to(target)")
        self._storage[gi] = build_storage(group["params"], type(self).__name__, self._flat_storage)
        return self._storage[gi]

    def _check_home(self) -> None:
        """Parameters of the per-parameter loop still on the backend and device where their state lives
        (``model.to(...)`` without ``optimizer.to(...)`` would mix arrays of two backends in the update;
        flat buffers check their own parameters in ``FlatBucket.sync``)."""
        for p in self._loose_state:
            xp, dev = self._home[p]
            if p._xp is not xp or getattr(p.data, "device", None) != dev:
                raise RuntimeError(
                    f"{type(self).__name__}.step: a parameter moved to another backend or device "
                    f"({getattr(xp, '__name__', xp)} {dev} -> {getattr(p._xp, '__name__', p._xp)} "
                    f"{getattr(p.data, 'device', None)}) but the optimiser state did not; call "
                    "optimizer.to(target) after model.to(target), or create the optimiser again"
                )

    def _update(self, xp, w, g, group, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_state(self, per: dict) -> None:
        """Install per-parameter state ``{param: {name: value}}`` into the storage. A flat buffer whose
        parameters' states do not form one (a checkpoint where some parameters never had a gradient)
        is dissolved: its parameters go to the per-parameter loop, keeping their arrays."""
        name = type(self).__name__
        self._loose_state, self._home = {}, {}
        for gi, (buckets, loose) in enumerate(self._storage):
            kept = []
            for b in buckets:
                if b.gather_state(per, name):
                    kept.append(b)
                else:
                    loose = loose + b.params
            self._storage[gi] = (kept, loose)
            for p in loose:
                if p in per:
                    self._loose_state[p] = per[p]
                    self._home[p] = (p._xp, getattr(p.data, "device", None))

    # -- persistence ------------------------------------------------------------------------------
    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """``{"state": {index: {name: array or number}}, "param_groups": [hyper-parameters, params as
        indices]}`` (PyTorch layout, per parameter whatever the storage; arrays are not copies)."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = []
        for g in self.param_groups:
            d = {k: v for k, v in g.items() if k != "params"}
            d["params"] = [index[id(p)] for p in g["params"]]
            groups.append(d)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups, "optimizer": type(self).__name__}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a ``state_dict()`` (per-parameter, from any storage or an older xpnet); the arrays are
        copied into this optimiser's storage on the parameters' backend."""
        params = self._params()
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict or "state" not in state_dict:
            raise TypeError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                            f"(optimizer.state_dict()), got {type(state_dict).__name__}")
        saved_cls = state_dict.get("optimizer")
        groups = state_dict["param_groups"]
        missing = sorted(set(self.defaults) - _OPTIONAL_KEYS - set(groups[0] if groups else {}))
        if (saved_cls is not None and saved_cls != name) or missing:
            raise ValueError(
                f"{name}.load_state_dict: the state was saved by {saved_cls or 'another optimiser'}, not {name} "
                f"(hyper-parameters missing: {missing}); load it into a {saved_cls or 'matching optimiser'}"
            )
        if len(groups) != len(self.param_groups) or any(
            len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)
        ):
            raise ValueError("load_state_dict: the saved parameter groups do not match this optimiser's")
        for g, saved in zip(self.param_groups, groups):
            for k, v in saved.items():
                if k != "params":
                    g[k] = copy.deepcopy(v)
        per = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            b = backend_of(p.data)
            per[p] = {k: (asarray(v, backend=b) if is_array(v) else v) for k, v in s.items()}
        self._set_state(per)

    def to(self, target) -> "Optimizer":
        """Move the optimiser state to ``target`` (call after ``model.to(target)``): the flat storage
        is built again from the parameters where they are now."""
        per = {p: {k: (to_device(v, target) if is_array(v) else v) for k, v in s.items()}
               for p, s in self.state.items()}
        self._storage = [build_storage(g["params"], type(self).__name__, self._flat_storage) for g in self.param_groups]
        self._home = {}
        self._set_state(per)
        return self

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])
