"""Optional NumPy fast paths compiled with numba (``pip install 'xpnet[fast]'``).

Multi-threaded fused kernels for elementwise chains where NumPy needs many passes or a slow special
function. Each has a generic Array-API reference in the layer code that the tests compare it with.

GELU in float32 uses the rational minimax approximation of erf on [−4, 4] from Eigen/XLA
(``generic_fast_erf_float``): erf(x) ≈ x·P(x²)/Q(x²), max abs error 4.2e-7 against float64 erf;
float64 uses ``math.erf``.
"""
from __future__ import annotations

import math
import os

_ENABLED = os.environ.get("XPNET_NUMBA", "1") != "0"

try:  # pragma: no cover - exercised when numba is installed
    if not _ENABLED:
        raise ImportError
    import numba  # noqa: F401 - availability check
    import numpy as np
    from numba import njit, prange  # noqa: F401

    AVAILABLE = True
except ImportError:
    AVAILABLE = False

if AVAILABLE:
    _A = [-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
          -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02]
    _B = [-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
          -1.42647390514189e-02]
    a0, a1, a2, a3, a4, a5, a6 = (np.float32(v) for v in _A)
    b0, b1, b2, b3, b4 = (np.float32(v) for v in _B)
    F4 = np.float32(4.0)
    HALF = np.float32(0.5)
    ONE = np.float32(1.0)
    ZERO = np.float32(0.0)
    RSQRT2 = np.float32(1 / math.sqrt(2))
    RSQRT2PI = np.float32(1 / math.sqrt(2 * math.pi))

    # fast-math without its "no NaN / no inf" assumptions, and NumPy's error model (x/0 gives inf or
    # NaN instead of raising ZeroDivisionError): a NaN input propagates to the non-finite-loss check
    _FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}

    @njit(inline="always", error_model="numpy")
    def _cdf32(v):
        """Φ(v) = ½(1 + erf(v/√2)), erf(t) ≈ t·P(t²)/Q(t²) on t clamped to [−4, 4]. Strict IEEE float32,
        one rounding per operation in this order (no fast-math, no FMA contraction): the compiled
        step's fusion pass (``xpnet/compile/fusion.py``, ``KERNEL_NODES``) writes these same operations
        into its generated kernels and gets the same bits. The clamps keep NaN as ``np.maximum`` does;
        the selects vectorise (8 lanes with AVX2), where ``min``/``max`` did not."""
        t = v * RSQRT2
        m = t if (t != t or t > -F4) else -F4
        c = m if (m != m or m < F4) else F4
        x2 = c * c
        p = a0 * x2
        p = p + a1
        p = p * x2
        p = p + a2
        p = p * x2
        p = p + a3
        p = p * x2
        p = p + a4
        p = p * x2
        p = p + a5
        p = p * x2
        p = p + a6
        q = b0 * x2
        q = q + b1
        q = q * x2
        q = q + b2
        q = q * x2
        q = q + b3
        q = q * x2
        q = q + b4
        e = c * p
        e = e / q
        return HALF * (ONE + e)

    # e^t for t ≤ 0 in float32, Cephes ``expf`` (S. Moshier, cephes/single/expf.c): t = n·ln2 + r with
    # |r| ≤ ln2/2, e^r by its degree-7 minimax polynomial, 2^n written into the exponent bits. Within
    # 2 ulp of libm's ``expf`` and, unlike a libm call, vectorised by LLVM (8 lanes with AVX2): the
    # GELU backward at 2^20 elements runs in 0.14 ms serial against 1.9 ms with ``math.exp``.
    LOG2E = np.float32(1.4426950408889634)
    LN2_HI = np.float32(0.693359375)
    LN2_LO = np.float32(-2.12194440e-4)
    EXP_MIN = np.float32(-87.0)  # e^-87 ≈ 1.6e-38: the smallest normal float32 is 1.2e-38
    c0, c1, c2, c3, c4, c5 = (np.float32(v) for v in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                                      4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))

    @njit(inline="always", fastmath=_FAST, error_model="numpy")
    def _exp32_nonpositive(t):
        u = max(t, EXP_MIN)
        n = np.floor(u * LOG2E + HALF)
        r = u - n * LN2_HI - n * LN2_LO
        p = (((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5) * (r * r) + r + ONE
        e = p * np.int32(np.int32(n + np.float32(127.0)) << 23).view(np.float32)
        return e if t >= EXP_MIN else ZERO  # below: 0 (libm's subnormals), and NaN stays NaN

    def _horner(name, coefs, var):
        """[(out, fn, *operands)] of Horner's rule c₀·t + c₁, ·t + c₂, … as :func:`_cdf32` runs it."""
        nodes = [(f"{name}0", "multiply", float(coefs[0]), var)]
        for i, c in enumerate(coefs[1:]):
            nodes += [(f"{name}{2 * i + 1}", "add", f"{name}{2 * i}", float(c)),
                      (f"{name}{2 * i + 2}", "multiply", f"{name}{2 * i + 1}", var)]
        return nodes[:-1], f"{name}{2 * len(coefs) - 3}"

    def _gelu32_nodes():
        p_nodes, p = _horner("p", (a0, a1, a2, a3, a4, a5, a6), "x2")
        q_nodes, q = _horner("q", (b0, b1, b2, b3, b4), "x2")
        return (("x",), ("y", "cdf"), [
            ("t", "multiply", "x", float(RSQRT2)), ("m", "maximum", "t", -4.0), ("c", "minimum", "m", 4.0),
            ("x2", "multiply", "c", "c"), *p_nodes, *q_nodes, ("e0", "multiply", "c", p),
            ("e", "true_divide", "e0", q), ("e1", "add", 1.0, "e"), ("cdf", "multiply", 0.5, "e1"),
            ("y", "multiply", "x", "cdf")])

    # the kernels a compiled step may fuse as their elementwise operations (xpnet/compile/fusion.py):
    # name -> (parameters, outputs, [(out, fn, *operands)]) and the dtypes it holds for; the nodes are
    # the kernel's own operations in its own order, so the fused kernel computes the same bits
    FUSION_NODES = {"gelu_forward": (_gelu32_nodes(), frozenset({"float32"}))}

    def _fwd32(x, y, cdf):
        for i in prange(x.size):
            v = x[i]
            c = _cdf32(v)
            cdf[i] = c
            y[i] = v * c

    def _bwd32(g, x, cdf, out):
        for i in prange(x.size):
            v = x[i]
            out[i] = g[i] * (cdf[i] + v * _exp32_nonpositive(-HALF * v * v) * RSQRT2PI)

    def _fwd64(x, y, cdf):
        for i in prange(x.size):
            v = x[i]
            c = 0.5 * (1.0 + math.erf(v * 0.7071067811865476))
            cdf[i] = c
            y[i] = v * c

    def _bwd64(g, x, cdf, out):
        for i in prange(x.size):
            v = x[i]
            out[i] = g[i] * (cdf[i] + v * math.exp(-0.5 * v * v) * 0.3989422804014327)


    # serial kernels for small arrays (a thread-pool wake-up costs more than the work, and its
    # threads would compete with BLAS's), multi-threaded ones from PARALLEL_MIN elements on
    _KERNELS = {}
    for _name, _f, _fm in (("fwd32", _fwd32, False), ("bwd32", _bwd32, True), ("fwd64", _fwd64, False),
                           ("bwd64", _bwd64, False)):
        _fm = _FAST if _fm else False
        _KERNELS[_name, False] = njit(fastmath=_fm, error_model="numpy", cache=True)(_f)
        _KERNELS[_name, True] = njit(parallel=True, fastmath=_fm, error_model="numpy", cache=True)(_f)

# 4 M elements, as the compiled step's fused kernels (xpnet/compile/fusion_numba.py): the kernels are
# memory-bound once vectorised (serial 0.32 ms, parallel 0.32 ms at 2^20 right after a 1024² matmul on
# this 2-core machine), and a parallel region competes with OpenBLAS's threads
PARALLEL_MIN = int(os.environ.get("XPNET_NUMBA_PARALLEL_MIN", 1 << 22))


def gelu_applicable(x) -> bool:
    return AVAILABLE and x.dtype.char in "fd" and x.flags.c_contiguous


def gelu_backward_applicable(x) -> bool:
    """float32: always (its vectorised e^(−x²/2) makes the one-pass kernel faster than NumPy's five
    passes at every size). float64 computes e^(−x²/2) with scalar libm calls, slower than NumPy's
    vectorised exp single-threaded: only where it runs on all cores."""
    return x.dtype.char == "f" or x.size >= PARALLEL_MIN


def _kernel(kind, x):
    return _KERNELS[kind + ("32" if x.dtype.char == "f" else "64"), x.size >= PARALLEL_MIN]


def gelu_forward(x, out=None):
    """(x·Φ(x), Φ(x)) in one pass. ``out``: a (y, Φ) pair of C-contiguous arrays shaped like ``x`` to
    write instead of new ones (a compiled replay's buffers)."""
    y, cdf = (np.empty_like(x), np.empty_like(x)) if out is None else out
    _kernel("fwd", x)(x.reshape(-1), y.reshape(-1), cdf.reshape(-1))
    return y, cdf


def gelu_backward(g, x, cdf, out=None):
    """g·(Φ(x) + x·φ(x)) in one pass. ``out``: a C-contiguous array shaped like ``x`` to write."""
    g = np.ascontiguousarray(g)
    out = np.empty_like(x) if out is None else out
    _kernel("bwd", x)(g.reshape(-1), x.reshape(-1), cdf.reshape(-1), out.reshape(-1))
    return out


# xn.compile may pass its preallocated buffers as out= (xpnet/compile/buffers.py)
gelu_forward.writes_out = gelu_backward.writes_out = True
