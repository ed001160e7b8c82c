"""``Optimizer``: parameter groups, per-parameter state, in-place updates, state_dict."""
from __future__ import annotations

import copy

from ..autograd import no_grad
from ..backend import asarray, backend_of, is_array, to_device
from ..tensor import Tensor
from .flat import FlatGroup, eligible


class Optimizer:
    """Base class. Subclasses implement ``_update(p, grad, group, state)``, which changes ``p.data``
    (and arrays in ``state``) in place with backend array operations: no host round-trip."""

    def __init__(self, params, defaults: dict, flat: bool = True):
        self.defaults = defaults
        self.param_groups: list = []
        self.state: dict = {}
        self.flat = flat
        self._flat: dict = {}
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
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: params must be Tensors, got {type(p).__name__}")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check(group)
        group.setdefault("initial_lr", group["lr"])
        self.param_groups.append(group)

    def _check(self, group) -> None:
        if group["lr"] < 0:
            raise ValueError(f"lr: expected a non-negative learning rate, got {group['lr']}")

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
        return loss

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
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        params = self._params()
        groups = state_dict["param_groups"]
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
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            b = backend_of(p.data)
            self.state[p] = {k: (asarray(v, backend=b) if is_array(v) else v) for k, v in s.items()}

    def to(self, target) -> "Optimizer":
        """Move the optimiser state to ``target`` (call after ``model.to(target)``)."""
        self._flat = {}
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
