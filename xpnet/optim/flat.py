"""One flat buffer per parameter group: the fused optimiser step.

Every parameter of a group becomes a view into one flat array P, and gradients are concatenated into
a flat G (one operation), so an update is a handful of array operations over P instead of a handful per parameter
(the idea of tinygrad's fused optimiser). The per-parameter state that ``state_dict`` shows
(momentum buffers, Adam moments) are views into flat state arrays, so nothing is stored twice.
Elementwise updates do not depend on the layout: results are bit-identical to the per-parameter loop.
"""
from __future__ import annotations

import math

from ..backend import is_array
from ..backend.views import supports_views


class _FlatParam:
    """What ``Optimizer._update`` reads of a parameter: ``data`` and ``_xp``."""

    __slots__ = ("data", "_xp")

    def __init__(self, data, xp):
        self.data, self._xp = data, xp


class FlatGroup:
    def __init__(self, params, state):
        xp = params[0]._xp
        self.xp, self.params = xp, list(params)
        self.shapes = [tuple(p.data.shape) for p in params]
        sizes = [math.prod(s) for s in self.shapes]
        self.bounds = []
        start = 0
        for n in sizes:
            self.bounds.append((start, start + n))
            start += n
        flat = xp.concat([xp.reshape(p.data, (-1,)) for p in params])
        self.param = _FlatParam(flat, xp)
        self.views = self._views(flat)
        for p, v in zip(params, self.views):
            p.data = v
        self.state = self._gather_state(state)

    def _views(self, flat):
        xp = self.xp
        return [xp.reshape(flat[a:b], s) for (a, b), s in zip(self.bounds, self.shapes)]

    def _gather_state(self, state):
        """Flat state arrays from the per-parameter ones (e.g. after load_state_dict)."""
        xp, per = self.xp, [state.get(p) or {} for p in self.params]
        keys = set().union(*per)
        flat = {}
        for k in keys:
            vals = [s.get(k) for s in per]
            if all(is_array(v) for v in vals):
                flat[k] = xp.concat([xp.reshape(v, (-1,)) for v in vals])
            elif all(v is not None and not is_array(v) for v in vals) and len({v for v in vals}) == 1:
                flat[k] = vals[0]
            else:
                return None  # parameters in different states (some never stepped): no flat step
        return flat

    def valid(self, state) -> bool:
        """Parameters still backed by the flat buffer (not moved or replaced), all with gradients,
        and no per-parameter step taken since (step counts agree)."""
        for p, v in zip(self.params, self.views):
            if p.data is not v or p.grad is None:
                return False
        if self.state is None:
            return False
        scalars = [(k, v) for k, v in self.state.items() if not hasattr(v, "shape")]
        return all(state.get(p, {}).get(k) == v for p in self.params for k, v in scalars)

    def gather_grads(self):
        """The flat gradient G: one concatenation (one device operation; copying each gradient into a
        kept buffer would be one per parameter)."""
        xp = self.xp
        return xp.concat([xp.reshape(p.grad, (-1,)) for p in self.params])

    def publish_state(self, state):
        """Per-parameter state entries as views of the flat ones (what state_dict shows); views are
        made again only when a flat state array is new."""
        arrays = [(k, v) for k, v in self.state.items() if hasattr(v, "shape")]
        key = tuple((k, id(v)) for k, v in arrays)
        if key != getattr(self, "_published_key", None):
            self._published_key, self._published_arrays = key, arrays  # keep them alive: ids stay unique
            for i, p in enumerate(self.params):
                st = state.setdefault(p, {})
                a, b = self.bounds[i]
                for k, v in arrays:
                    st[k] = self.xp.reshape(v[a:b], self.shapes[i])
        scalars = [(k, v) for k, v in self.state.items() if not hasattr(v, "shape")]
        if scalars:
            for p in self.params:
                st = state[p]
                for k, v in scalars:
                    st[k] = v


def eligible(params) -> bool:
    """A group can be flattened: one namespace that keeps views, one dtype and device, all leaves."""
    if len(params) < 2:
        return False
    xp = params[0]._xp
    if not supports_views(xp):
        return False
    d0, dev0 = params[0].data.dtype, getattr(params[0].data, "device", None)
    return all(p._xp is xp and p.data.dtype == d0 and getattr(p.data, "device", None) == dev0 for p in params)
