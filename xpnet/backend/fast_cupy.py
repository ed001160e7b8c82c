"""CuPy fast paths: fused elementwise kernels that replace chains of small launches.

Each kernel has a generic Array-API reference in the layer code; the cupy test run compares them.
GELU: y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)), dΦ/dx·x term φ(x) = e^(−x²/2)/√(2π); one launch forward
(writing y and Φ), one backward, instead of five to seven.

The CUDA sources are data (:data:`ELEMENTWISE`, :data:`RAW`) so that CI can check them without a GPU:
``tests/test_kernels_nvrtc.py`` generates the code the way CuPy does and compiles it with NVRTC for
sm_80 and sm_90; ``tests/test_kernels_host.py`` compiles each body with the host C++ compiler and
compares it with the Array-API reference.
"""
from __future__ import annotations

import functools

# name: (input params, output params, body) — cupy.ElementwiseKernel(in_params, out_params, body, name)
ELEMENTWISE = {
    "xpnet_gelu_fwd": (
        "T x", "T y, T cdf",
        "cdf = (T)0.5 * ((T)1 + erf(x * (T)0.70710678118654752)); y = x * cdf;"),
    "xpnet_gelu_bwd": (
        "T g, T x, T cdf", "T dx",
        "dx = g * (cdf + x * exp((T)-0.5 * x * x) * (T)0.39894228040143268);"),
    # batch norm, training (Ioffe & Szegedy 2015): x̂ = (x − μ)/√(σ² + ε), y = γx̂ + β
    "xpnet_bn_fwd": (
        "T xc, T var, T w, T b, T eps", "T xhat, T y",
        "T inv = (T)1 / sqrt(var + eps); xhat = xc * inv; y = xhat * w + b;"),
    # running statistics in place: r_μ ← (1 − m)r_μ + m·μ, r_σ² ← (1 − m)r_σ² + m·M/(M − 1)·σ² (c = m·M/(M − 1))
    "xpnet_bn_running": (
        "T mean, T var, T mom, T c", "T rm, T rv",
        "rm = rm * ((T)1 - mom) + mom * mean; rv = rv * ((T)1 - mom) + c * var;"),
    # dx = γ/√(σ² + ε) · (g − Σg/M − x̂·Σ(g·x̂)/M)   (rm = 1/M; Σg and Σ(g·x̂) are also dβ and dγ)
    "xpnet_bn_bwd": (
        "T g, T xhat, T gb, T gw, T w, T var, T eps, T rm", "T dx",
        "dx = (g - gb * rm - xhat * (gw * rm)) * (w * ((T)1 / sqrt(var + eps)));"),
}

# parameters passed as Python scalars (CuPy makes them by-value kernel arguments, not arrays)
SCALARS = {"xpnet_bn_fwd": {"eps"}, "xpnet_bn_running": {"mom", "c"}, "xpnet_bn_bwd": {"eps", "rm"}}

# name: CUDA C source of a RawKernel (none shipped yet; the checks cover whatever is added here)
RAW: dict = {}


@functools.lru_cache(maxsize=None)
def _kernels():
    import cupy

    return {name: cupy.ElementwiseKernel(i, o, body, name) for name, (i, o, body) in ELEMENTWISE.items()}


def gelu_applicable(x) -> bool:
    return x.dtype.char in "fd"


def gelu_backward_applicable(x) -> bool:
    return True


def gelu_forward(x):
    y, cdf = _kernels()["xpnet_gelu_fwd"](x)
    return y, cdf


def gelu_backward(g, x, cdf):
    return _kernels()["xpnet_gelu_bwd"](g, x, cdf)


def batchnorm_forward(xc, var, weight, bias, eps):
    """(x̂, y) from the centred input ``xc`` and the biased batch variance (one launch)."""
    return _kernels()["xpnet_bn_fwd"](xc, var, weight, bias, eps)


def batchnorm_running(running_mean, running_var, mean, var, momentum, c):
    """Both running statistics updated in place (one launch)."""
    _kernels()["xpnet_bn_running"](mean, var, momentum, c, running_mean, running_var)


batchnorm_running.xpnet_writes = (0, 1)  # the arguments it writes (xpnet.compile.plan.tainted)


def batchnorm_backward(g, xhat, gb, gw, weight, var, eps, inv_count):
    return _kernels()["xpnet_bn_bwd"](g, xhat, gb, gw, weight, var, eps, inv_count)
