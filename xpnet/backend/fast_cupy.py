"""CuPy fast paths: fused elementwise kernels that replace chains of small launches.

Each kernel has a generic Array-API reference in the layer code; the cupy test run compares them.
GELU: y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)), dΦ/dx·x term φ(x) = e^(−x²/2)/√(2π); one launch forward
(writing y and Φ), one backward, instead of five to seven.
"""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def _kernels():
    import cupy

    fwd = cupy.ElementwiseKernel(
        "T x", "T y, T cdf",
        "cdf = (T)0.5 * ((T)1 + erf(x * (T)0.70710678118654752)); y = x * cdf;",
        "xpnet_gelu_fwd")
    bwd = cupy.ElementwiseKernel(
        "T g, T x, T cdf", "T dx",
        "dx = g * (cdf + x * exp((T)-0.5 * x * x) * (T)0.39894228040143268);",
        "xpnet_gelu_bwd")
    return fwd, bwd


def gelu_applicable(x) -> bool:
    return x.dtype.char in "fd"


def gelu_backward_applicable(x) -> bool:
    return True


def gelu_forward(x):
    y, cdf = _kernels()[0](x)
    return y, cdf


def gelu_backward(g, x, cdf):
    return _kernels()[1](g, x, cdf)
