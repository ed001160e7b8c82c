"""``Optimizer``: parameter groups, per-parameter state, in-place updates, state_dict."""
from __future__ import annotations

import copy
import math

from ..autograd import no_grad
from ..backend import asarray, backend_of, is_array, to_device
from ..tensor import Tensor
from .flat import FlatGroup, eligible


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
    """PyTorch's implementation-only switches: ``foreach``/``fused``/``capturable`` select a kernel and
    do not change the result, so they are accepted and ignored; ``differentiable=True`` (autograd
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
    """Base class. Subclasses implement ``_update(p, grad, group, state)``, which changes ``p.data``
    (and arrays in ``state``) in place with backend array operations: no host round-trip."""

    def __init__(self, params, defaults: dict, flat: bool = True):
        self.defaults = defaults
        self.param_groups: list = []
        self.state: dict = {}
        self.flat = flat
        self._flat: dict = {}
        if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts "
                            f"(model.parameters()), got {type(params).__name__}")
        self._home: dict = {}
        params = list(params) if not isinstance(params, Tensor) else [params]
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

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
        """One update of every parameter that has a gradient. Groups whose parameters share one
        backend, dtype and device are updated as one flat buffer (``flat=False`` at construction
        turns that off); the result is the same as the per-parameter loop."""
        loss = closure() if closure is not None else None
        if self.state:
            self._check_home()
        for gi, group in enumerate(self.param_groups):
            if self._flat_step(gi, group):
                continue
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state.get(p)
                if st is None:
                    st = self.state[p] = {}
                self._update(p, p.grad, group, st)
        if len(self._home) != len(self.state):  # where the state lives (checked by the next step)
            for p in self.state:
                self._home.setdefault(p, (p._xp, getattr(p.data, "device", None)))
        return loss

    def _check_home(self) -> None:
        """Parameters still on the backend and device where their state lives (``model.to(...)``
        without ``optimizer.to(...)`` would mix arrays of two backends inside the update)."""
        for p, (xp, dev) in self._home.items():
            if p._xp is not xp or getattr(p.data, "device", None) != dev:
                raise RuntimeError(
                    f"{type(self).__name__}.step: a parameter moved to another backend or device "
                    f"({getattr(xp, '__name__', xp)} {dev} -> {getattr(p._xp, '__name__', p._xp)} "
                    f"{getattr(p.data, 'device', None)}) but the optimiser state did not; call "
                    "optimizer.to(target) after model.to(target), or create the optimiser again"
                )

    def _flat_step(self, gi, group) -> bool:
        if not self.flat:
            return False
        fg = self._flat.get(gi)
        if fg is None or not fg.valid(self.state):
            params = group["params"]
            if not eligible(params) or any(p.grad is None for p in params):
                return False
            fg = self._flat[gi] = FlatGroup(params, self.state)
            if fg.state is None:
                del self._flat[gi]
                return False
        self._update(fg.param, fg.gather_grads(), group, fg.state)
        fg.publish_state(self.state)
        return True

    def _update(self, p, grad, group, state):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- persistence ------------------------------------------------------------------------------
    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """``{"state": {index: {name: array or number}}, "param_groups": [hyper-parameters, params as
        indices]}`` (PyTorch layout)."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = []
        for g in self.param_groups:
            d = {k: v for k, v in g.items() if k != "params"}
            d["params"] = [index[id(p)] for p in g["params"]]
            groups.append(d)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups, "optimizer": type(self).__name__}

    def load_state_dict(self, state_dict: dict) -> None:
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
        self.state = {}
        self._flat = {}
        self._home = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            b = backend_of(p.data)
            self.state[p] = {k: (asarray(v, backend=b) if is_array(v) else v) for k, v in s.items()}

    def to(self, target) -> "Optimizer":
        """Move the optimiser state to ``target`` (call after ``model.to(target)``)."""
        self._flat = {}
        self._home = {}
        for s in self.state.values():
            for k, v in s.items():
                if is_array(v):
                    s[k] = to_device(v, target)
        return self

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])
