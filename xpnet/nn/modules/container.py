"""Containers: Sequential, Residual, Flatten."""
from __future__ import annotations

from ..functional.chain import ChainFn
from ...options import get_option
from .module import Module, _call_hooks, structure_version



class Sequential(Module):
    """Layers applied in order; indexable and iterable like a list."""

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(layer).__name__}")
            setattr(self, str(i), layer)
        self.__dict__["_layers"] = list(layers)
        self.__dict__["_groups"] = _group(self._layers)
        self.__dict__["_stage_cache"] = {}

    def forward(self, x):
        if _call_hooks or not get_option("fuse"):
            for layer in self._layers:
                x = layer(x)
            return x
        cache = self._stage_cache
        for gi, group in enumerate(self._groups):
            if len(group) == 1:
                x = group[0](x)
                continue
            key = (gi, structure_version[0]) + tuple(layer.training for layer in group)
            plan = cache.get(key)
            if plan is None:
                if len(cache) > 64:
                    cache.clear()
                stages = [s for s in (layer._stage() for layer in group) if s is not None]
                plan = cache[key] = (stages, [p for st in stages for p in st.params])
            if plan[0]:
                x = ChainFn.apply(x, plan[0], *plan[1])
        return x

    def append(self, layer: Module) -> "Sequential":
        setattr(self, str(len(self._layers)), layer)
        self._layers.append(layer)
        self.__dict__["_groups"] = _group(self._layers)
        self.__dict__["_stage_cache"] = {}
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self._layers[i])
        return self._layers[i]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self):
        return iter(self._layers)


def _group(layers):
    """Runs of consecutive layers that can execute as one ChainFn node (each such layer type has a
    ``_stage`` method: Linear, BatchNorm1d, the activations, Dropout); other layers stand alone."""
    groups, run = [], []
    for layer in layers:
        if hasattr(layer, "_stage"):
            run.append(layer)
            continue
        if run:
            groups.append(run)
            run = []
        groups.append([layer])
    if run:
        groups.append(run)
    return groups


class Residual(Module):
    """y = block(x) + shortcut(x); the shortcut is the identity unless a projection is given
    (He et al. 2016; report 000 §3.3.4)."""

    def __init__(self, block: Module, shortcut: Module | None = None):
        super().__init__()
        self.block = block
        self.shortcut = shortcut

    def forward(self, x):
        return self.block(x) + (x if self.shortcut is None else self.shortcut(x))


class Flatten(Module):
    """Flatten axes ``start_dim..end_dim`` into one (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        shape = tuple(x.shape)
        s, e = self.start_dim % len(shape), self.end_dim % len(shape)
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return x.reshape(shape[:s] + (n,) + shape[e + 1:])
