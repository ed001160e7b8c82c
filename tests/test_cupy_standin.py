"""The CuPy stand-in is as strict as CuPy where xpnet could go wrong on a GPU, and the suite on it
catches cupy-path faults: a planted bug in a fused kernel, a planted implicit host conversion."""
import numpy as np
import pytest

import xpnet as xn
from xpnet.bench import cupy_standin

if not cupy_standin.installed():
    pytest.skip("the suite runs on a real GPU here: tests/test_host_syncs.py runs the stand-in in a subprocess",
                allow_module_level=True)

import cupy  # noqa: E402  (the stand-in)
import cupyx  # noqa: E402

C = cupy_standin.COUNTERS


def test_ndarray_is_strict_like_cupy():
    a = cupy.asarray(np.arange(6.0).reshape(2, 3))
    assert not isinstance(a, np.ndarray) and isinstance(a, cupy.ndarray)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        cupy.concatenate([a, np.ones((1, 3))])
    C.reset()
    float(cupy.sum(a)), a.get(), a[0, 0].item(), bool(a[0, 1] > 0), a.tolist()
    assert C.reads == {"__float__": 1, "get": 1, "item": 1, "__bool__": 1, "tolist": 1}
    with C.trapping(), pytest.raises(AssertionError, match="device→host read"):
        int(a[0, 0])


def test_out_of_bounds_integer_indices_wrap_like_cupy():
    a = cupy.asarray(np.arange(5.0))
    idx = cupy.asarray(np.array([1, 6, -1]))
    np.testing.assert_array_equal(a[idx].get(), [1.0, 1.0, 4.0])
    np.testing.assert_array_equal(cupy.take(a, idx).get(), [1.0, 1.0, 4.0])
    with pytest.raises(IndexError):
        a[7]  # a Python int index is checked on the host, as in CuPy
    out = cupy.zeros(3)
    cupyx.scatter_add(out, cupy.asarray(np.array([0, 0, 4])), cupy.asarray(np.array([1.0, 2.0, 5.0])))
    np.testing.assert_array_equal(out.get(), [3.0, 5.0, 0.0])  # repeated indices add up; 4 wraps to 1


def test_devices_random_and_memory_pool():
    d = cupy.cuda.Device(0)
    assert d == cupy.cuda.Device() and hash(d) == hash(cupy.cuda.Device(0)) and d.id == 0
    with d:
        g = cupy.random.default_rng(0)
        u = g.random((1000,), dtype=np.float32)
    assert u.dtype == np.float32 and u.device == d
    assert 0.4 < float(cupy.mean(u)) < 0.6
    pool = cupy.get_default_memory_pool()
    before = pool.used_bytes()
    big = cupy.zeros((1000, 1000), dtype=np.float32)
    view = big[:10]
    assert pool.used_bytes() - before == 4_000_000
    del big
    assert pool.used_bytes() - before == 4_000_000  # a view keeps its base alive
    del view
    assert pool.used_bytes() == before


def test_device_operations_are_counted_and_views_are_not():
    a = cupy.asarray(np.ones((4, 4), dtype=np.float32))
    C.reset()
    b = a.T
    c = cupy.reshape(a, (16,))
    d = a[1:3]
    assert C.n_ops == 0
    e = a @ a
    a += 1
    f = cupy.sum(e, axis=0)
    assert C.ops == {"matmul": 1, "add": 1, "sum": 1}
    del b, c, d, f


def _gelu_fast_vs_generic():
    from xpnet.backend import special

    b = xn.backend.load("cupy")
    outs = []
    with xn.use_backend(b):
        x = xn.tensor(np.random.default_rng(1).standard_normal((64, 33)), requires_grad=True)
        for fast in (True, False):
            with xn.config_context(fast=fast):
                x.grad = None
                y = xn.nn.functional.gelu(x)
                y.backward(xn.asarray(np.ones((64, 33))))
                outs.append((xn.to_numpy(y), xn.to_numpy(x.grad)))
    return outs


def test_fused_kernels_run_and_equal_the_generic_code():
    (fy, fg), (gy, gg) = _gelu_fast_vs_generic()
    np.testing.assert_allclose(fy, gy, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fg, gg, rtol=1e-6, atol=1e-6)


def test_a_planted_kernel_bug_is_caught_on_the_standin(monkeypatch):
    from xpnet.backend import fast_cupy

    ins, outs, body = fast_cupy.ELEMENTWISE["xpnet_gelu_bwd"]
    monkeypatch.setitem(fast_cupy.ELEMENTWISE, "xpnet_gelu_bwd", (ins, outs, body.replace("cdf + x", "cdf - x")))
    fast_cupy._kernels.cache_clear()
    try:
        (fy, fg), (gy, gg) = _gelu_fast_vs_generic()
        np.testing.assert_allclose(fy, gy, rtol=1e-6, atol=1e-6)
        assert not np.allclose(fg, gg, rtol=1e-3, atol=1e-3)
    finally:
        monkeypatch.undo()
        fast_cupy._kernels.cache_clear()


def test_a_planted_implicit_host_conversion_is_caught(monkeypatch):
    from xpnet.nn.functional import loss as loss_mod

    b = xn.backend.load("cupy")
    orig = loss_mod._log_softmax
    monkeypatch.setattr(loss_mod, "_log_softmax", lambda xp, x, axis: orig(xp, xp.asarray(np.asarray(x)), axis))
    with xn.use_backend(b):
        z = xn.tensor(np.zeros((3, 4)), requires_grad=True)
        with pytest.raises(TypeError, match="Implicit conversion"):
            xn.nn.functional.cross_entropy(z, xn.asarray(np.array([0, 1, 2])))
