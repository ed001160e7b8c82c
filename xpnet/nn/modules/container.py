"""Containers: Sequential, Residual, Flatten."""
from __future__ import annotations

from ...options import get_option
from ..fusion import run_sequential
from .module import Module


class Sequential(Module):
    """Layers applied in order; indexable and iterable like a list (PyTorch ``nn.Sequential``).

    With the ``fuse`` option on (the default), runs of the library's own Linear, BatchNorm1d,
    activation and Dropout layers execute as one graph node each (:mod:`xpnet.nn.fusion`), with the
    same results as layer by layer; ``xn.config_context(fuse=False)`` runs every layer alone.

    >>> import xpnet as xn
    >>> model = xn.nn.Sequential(xn.nn.Linear(3, 4), xn.nn.ReLU(), xn.nn.Linear(4, 2))
    >>> model(xn.tensor([[1.0, 2.0, 3.0]])).shape
    (1, 2)
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(layer).__name__}")
            setattr(self, str(i), layer)
        self.__dict__["_layers"] = list(layers)

    def forward(self, x):
        if get_option("fuse"):
            return run_sequential(self, x)
        for layer in self._layers:
            x = layer(x)
        return x

    def append(self, layer: Module) -> "Sequential":
        setattr(self, str(len(self._layers)), layer)
        self._layers.append(layer)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self._layers[i])
        return self._layers[i]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self):
        return iter(self._layers)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_fusion_plan", None)  # a cache of closures over these very layers: rebuilt on use
        return state


class Residual(Module):
    """y = block(x) + shortcut(x); the shortcut is the identity unless a projection is given
    (He et al. 2016, Deep Residual Learning)."""

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


__all__ = ["Flatten", "Residual", "Sequential"]
