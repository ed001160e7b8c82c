"""Kept for code written before :mod:`xpnet.backend.ops`: ``fused(xp)`` is
``ops.fast_kernels(xp, "batchnorm")`` (the batch-norm kernels of the namespace's backend, today
CuPy's :mod:`xpnet.backend.fast_cupy`, or None; None too under ``xn.config_context(fast=False)``)."""
from __future__ import annotations


def fused(xp):
    """The batch-norm fast-kernel module for namespace ``xp``, or None."""
    from .ops import batchnorm_kernels

    return batchnorm_kernels(xp)
