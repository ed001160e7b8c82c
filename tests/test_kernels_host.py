"""Each CuPy elementwise body xpnet ships, compiled by the host C++ compiler as a loop over NumPy
buffers (xpnet/bench/cupy_standin/hostkernel.py), against the generic Array-API code of the same layer, in
float32 and float64, on ordinary values and on ±0, ±inf, NaN, large |x| and subnormals. A kernel body
with a planted fault (a wrong constant) fails the same comparison.

What this cannot show: the GPU's own math library and flush-to-zero (CuPy compiles with
``-ftz=true``, so float32 subnormal results become 0 on the GPU; the tolerance admits both)."""
import math

import numpy as np
import pytest

import xpnet as xn
from xpnet.backend import fast_cupy, ops

from xpnet.bench.cupy_standin.hostkernel import HostElementwise


def _inputs(dtype):
    f = np.finfo(dtype)
    special_values = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30, float(f.max), -float(f.max),
                      float(f.smallest_subnormal), -float(f.smallest_subnormal), float(f.smallest_normal) / 4,
                      -float(f.smallest_normal) / 4, 1e-20, -1e-20, 5.0, -5.0, 9.0, -9.0, 40.0, -40.0]
    ordinary = np.random.default_rng(0).standard_normal(2000) * 3
    return np.concatenate([np.array(special_values), ordinary, np.linspace(-10, 10, 401)]).astype(dtype)


def _reference(name, dtype):
    """Inputs and the outputs of the generic Array-API code (fast paths off) for kernel ``name``:
    GELU through the layer itself; batch norm by the generic branch's own formula, operation by
    operation (xpnet/nn/functional/normalization.py), on per-element statistics."""
    x = _inputs(dtype)
    r = np.random.default_rng(1)
    pos = lambda: (np.abs(r.standard_normal(x.shape)) + 0.1).astype(dtype)
    nrm = lambda: r.standard_normal(x.shape).astype(dtype)
    if name.startswith("xpnet_gelu"):
        with xn.config_context(fast=False):
            with xn.use_backend("numpy"):
                xp = xn.get_backend().xp
                with np.errstate(all="ignore"):
                    cdf = 0.5 * (1.0 + ops.erf(xp, x * (1.0 / math.sqrt(2.0))))
                    t = xn.Tensor(x, requires_grad=True)
                    y = xn.nn.functional.gelu(t)
                    g = nrm()
                    y.backward(g)
        if name == "xpnet_gelu_fwd":
            return (x,), (y.data, cdf.astype(dtype))
        return (g, x, cdf.astype(dtype)), (t.grad,)
    with np.errstate(all="ignore"):
        if name == "xpnet_bn_fwd":
            var, w, b, eps = pos(), nrm(), nrm(), 1e-5
            inv_std = 1.0 / np.sqrt(var + eps)
            xhat = x * inv_std
            y = xhat * w
            y += b
            return (x, var, w, b, eps), (xhat, y)
        if name == "xpnet_bn_running":
            rm, rv, var, mom, c = nrm(), pos(), pos(), 0.1, 0.1 * 32 / 31
            erm, erv = rm.copy(), rv.copy()
            erm *= 1.0 - mom
            erm += mom * x
            erv *= 1.0 - mom
            erv += c * var
            return (x, var, mom, c, rm, rv), (erm, erv)
        if name == "xpnet_bn_bwd":
            xhat, gb, gw, w, var, eps, rm = nrm(), nrm(), nrm(), nrm(), pos(), 1e-5, 1.0 / 32
            inv_std = 1.0 / np.sqrt(var + eps)
            gx = x - gb * rm
            gx -= xhat * (gw * rm)
            gx *= w * inv_std
            return (x, xhat, gb, gw, w, var, eps, rm), (gx,)
    raise KeyError(name)


def mismatches(name, spec, dtype):
    """Where the host-compiled body of ``spec`` and the generic reference disagree (empty if none)."""
    ins, expected = _reference(name, dtype)
    with np.errstate(all="ignore"):
        got = HostElementwise(*spec[:2], spec[2], name)(*[a.copy() if isinstance(a, np.ndarray) else a for a in ins])
    got = got if isinstance(got, tuple) else (got,)
    eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).smallest_normal
    x_ = _inputs(dtype)  # the special-value input, for the report
    bad = []
    for k, (a, b) in enumerate(zip(got, expected)):
        assert a.dtype == dtype and b.dtype == dtype, (a.dtype, b.dtype)
        same_class = (np.isnan(a) == np.isnan(b)) & (np.isposinf(a) == np.isposinf(b)) & (np.isneginf(a) == np.isneginf(b))
        fin = np.isfinite(a) & np.isfinite(b)
        close = np.abs(a[fin].astype(np.float64) - b[fin]) <= 64 * eps * np.abs(b[fin].astype(np.float64)) + 64 * eps * 1e-1 + 4 * tiny
        zero_sign = (b == 0) & (np.abs(a) <= 4 * tiny) | (b != 0)
        if not same_class.all():
            bad.append((k, "nan/inf class", x_[~same_class][:5]))
        if not close.all():
            bad.append((k, "value", x_[fin][~close][:5], a[fin][~close][:5], b[fin][~close][:5]))
        if not zero_sign.all():
            bad.append((k, "zero", x_[~zero_sign][:5]))
    return bad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(fast_cupy.ELEMENTWISE))
def test_kernel_body_on_host_equals_generic_array_api(name, dtype):
    assert mismatches(name, fast_cupy.ELEMENTWISE[name], dtype) == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_planted_wrong_order_is_caught(dtype):
    ins, outs, body = fast_cupy.ELEMENTWISE["xpnet_bn_running"]
    planted = (ins, outs, body.replace("rm * ((T)1 - mom)", "rm * (T)1 - mom"))
    assert planted[2] != body
    assert mismatches("xpnet_bn_running", planted, dtype) != []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_planted_wrong_constant_is_caught(dtype):
    ins, outs, body = fast_cupy.ELEMENTWISE["xpnet_gelu_fwd"]
    planted = (ins, outs, body.replace("0.70710678118654752", "0.7071"))
    assert planted[2] != body
    assert mismatches("xpnet_gelu_fwd", planted, dtype) != []


def test_every_shipped_kernel_has_a_reference():
    for name in fast_cupy.ELEMENTWISE:
        _reference(name, np.float64)  # KeyError: add the generic reference for a new kernel here
