"""The pure Array-API erf fallback, measured in float32 ulps against the float64 reference."""
import math

import numpy as np
import pytest

import xpnet as xn
from xpnet.backend.special import erf_array_api

MAX_ULPS = 3.0


def _grid():
    dense = np.linspace(-10.0, 10.0, 200_001)
    tiny = np.logspace(-30, 0, 3_001)
    tails = np.linspace(1.0, 4.5, 20_001)  # where 1 − erf is a few ulps of 1: the erfc branch
    x = np.concatenate([dense, tiny, -tiny, tails, -tails, [0.0, 1.0, -1.0, 2.0, -2.0]])
    return x.astype(np.float32)


def _ulps(got, x32):
    ref = np.array([math.erf(float(v)) for v in x32[::97]])  # math.erf: the C library's double erf
    from scipy.special import erf as sp_erf

    full = sp_erf(x32.astype(np.float64))
    np.testing.assert_allclose(full[::97], ref, rtol=1e-15, atol=1e-300)  # the two references agree
    ulp = np.spacing(np.abs(full).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - full) / ulp


def test_erf_fallback_float32_within_a_few_ulps(backend, xp):
    x32 = _grid()
    got = xn.to_numpy(erf_array_api(xp, xn.asarray(x32)))
    assert got.dtype == np.float32
    err = _ulps(got, x32)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULPS, f"erf({x32[worst]!r}): {err[worst]:.2f} ulps"
    # 1 + erf(x) for negative x (GELU's Φ): absolute error within a few ulps of 1
    neg = x32 < 0
    one_plus = 1.0 + got[neg].astype(np.float64)
    from scipy.special import erfc

    ref = erfc(-x32[neg].astype(np.float64))
    assert np.max(np.abs(one_plus - ref)) <= MAX_ULPS * np.finfo(np.float32).eps / 2


def test_erf_fallback_special_values(backend, xp):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 30.0, -30.0], dtype=np.float32)
    got = xn.to_numpy(erf_array_api(xp, xn.asarray(x)))
    np.testing.assert_array_equal(got[[0, 1, 3, 4, 5, 6]], [1.0, -1.0, 0.0, 0.0, 1.0, -1.0])
    assert np.isnan(got[2])


def test_erf_fallback_float64_relative(backend, xp):
    from scipy.special import erf as ref

    x = np.concatenate([np.linspace(-7, 7, 20_001), np.logspace(-20, 0, 201)])
    got = xn.to_numpy(erf_array_api(xp, xn.asarray(x, dtype="float64")))
    assert np.max(np.abs(got - ref(x)) / np.maximum(np.abs(ref(x)), 1e-300)) < 1e-12


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_erf_native_and_fallback_agree(backend, xp, scale):
    from xpnet.backend.ops import erf

    x = (np.random.default_rng(0).standard_normal(4096) * scale).astype(np.float32)
    a = xn.to_numpy(erf(xp, xn.asarray(x)))
    b = xn.to_numpy(erf_array_api(xp, xn.asarray(x)))
    np.testing.assert_allclose(a, b, rtol=4 * np.finfo(np.float32).eps, atol=np.finfo(np.float32).tiny)
