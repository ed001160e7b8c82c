"""The fused kernels of a namespace, where it has them (today CuPy's: :mod:`xpnet.backend.fast_cupy`).

Layers ask ``fused(xp)`` once per call and fall back to their generic Array-API code when it returns
None (any other namespace, or ``xn.config_context(fast=False)``, which the tests use to compare the
two). Each fused kernel replaces a chain of small launches: on a GPU at batch 32–128 a training step
is launch-bound, so the number of device operations decides its time.
"""
from __future__ import annotations

from ..options import get_option
from .registry import namespace_name

_BY_NAMESPACE: dict = {}


def fused(xp):
    """The fused-kernel module for namespace ``xp``, or None."""
    if not get_option("fast"):
        return None
    mod = _BY_NAMESPACE.get(id(xp), 0)
    if mod == 0:
        mod = None
        if namespace_name(xp) == "cupy":
            from . import fast_cupy as mod
        _BY_NAMESPACE[id(xp)] = mod
    return mod
