"""On NumPy the compiled step fuses the numba GELU forward as its own float32 operations
(``fast_numpy.FUSION_NODES``): bias add, GELU, dropout and the residual add run in one generated kernel,
and the results stay eager's bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.backend import fast_numpy, to_numpy
from helpers import train_step

pytestmark = pytest.mark.skipif(not fast_numpy.AVAILABLE, reason="numba not installed (pip install 'xpnet[fast]')")


def _model():
    block = nn.Sequential(nn.Linear(24, 24), nn.BatchNorm1d(24), nn.GELU(), nn.Dropout(0.1))
    return nn.Sequential(nn.Linear(10, 24), nn.BatchNorm1d(24), nn.GELU(), nn.Dropout(0.1), nn.Residual(block),
                         nn.Linear(24, 4))


def _data(n=48, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, 10)).astype(np.float32) * 3
    x[0, 0], x[1, 1] = 1e4, -1e4  # far outside erf's clamp
    return xn.asarray(x), xn.asarray(r.integers(0, 4, n).astype(np.int64))



def test_inference_fuses_gelu_and_equals_eager_bitwise():
    xn.manual_seed(0)
    model = _model()
    x, y = _data()
    opt = optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):  # running statistics away from their start
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    f = xn.compile(model)
    with xn.no_grad():
        want = to_numpy(model(x).data)
        for _ in range(4):
            got = f(x)
        f.wait()
        got = to_numpy(f(x).data)
    (plan,) = f.plans
    assert "gelu_forward" not in [op.name() for op in plan.ops]
    np.testing.assert_array_equal(got, want)


def test_training_with_fused_gelu_equals_eager_bitwise_over_50_steps():
    def run(compiled):
        xn.manual_seed(1)
        model = _model()
        opt = optim.Adam(model.parameters(), lr=1e-2)
        x, y = _data(seed=2)

        step = train_step(model, opt)

        f = xn.compile(step) if compiled else step
        losses = []
        for i in range(50):
            losses.append(float(to_numpy(f(x, y))))
            if compiled and i == 5:
                f.wait()
                assert "gelu_forward" not in [op.name() for op in f.plans[0].ops]
        return losses, [to_numpy(t).copy() for t in model.state_dict().values()]

    (le, se), (lc, sc) = run(False), run(True)
    assert le == lc
    for a, b in zip(se, sc):
        np.testing.assert_array_equal(a, b)


def test_float64_gelu_stays_the_kernel():
    """Only the float32 kernel is listed (float64 calls the C library's erf, not correctly rounded)."""
    xn.manual_seed(0)
    with xn.config_context(default_dtype="float64"):
        model = nn.Sequential(nn.Linear(10, 8), nn.GELU(), nn.Linear(8, 2))
        model.eval()
        x = xn.asarray(np.random.default_rng(0).standard_normal((16, 10)))
        f = xn.compile(model)
        with xn.no_grad():
            want = to_numpy(model(x).data)
            for _ in range(4):
                got = to_numpy(f(x).data)
    np.testing.assert_array_equal(got, want)
