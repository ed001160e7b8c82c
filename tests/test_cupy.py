"""GPU-only checks: no host synchronisation inside a training step, fast paths equal the generic
code, no memory growth across epochs. Skipped, with the reason, where CuPy has no GPU."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.backend import BackendUnavailableError, load

try:
    GPU = load("cupy")
except BackendUnavailableError as e:
    pytest.skip(f"cupy: {e}", allow_module_level=True)

import cupy  # noqa: E402


def _w1_like(width=64):
    block = lambda i, o: [nn.Linear(i, o), nn.BatchNorm1d(o), nn.GELU(), nn.Dropout(0.2)]
    return nn.Sequential(*block(32, width), nn.Residual(nn.Sequential(*block(width, width))), nn.Linear(width, 10))


@pytest.fixture
def on_gpu():
    with xn.use_backend(GPU):
        xn.manual_seed(0)
        yield GPU


def test_training_step_makes_no_host_round_trip(on_gpu, monkeypatch):
    model = _w1_like()
    for opt in (optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4), optim.Adam(model.parameters())):
        X = xn.asarray(np.random.default_rng(0).standard_normal((64, 32)))
        y = xn.asarray(np.arange(64) % 10)
        loss = nn.functional.cross_entropy(model(X), y)  # warm-up: kernels compiled, pools filled
        loss.backward()
        opt.step()

        def refuse(*a, **k):
            raise AssertionError("device→host transfer inside a training step")

        with monkeypatch.context() as m:
            for name in ("get", "item", "tolist", "__float__", "__int__", "__bool__"):
                m.setattr(cupy.ndarray, name, refuse)
            m.setattr(cupy, "asnumpy", refuse)
            for _ in range(3):
                out = model(X)
                loss = nn.functional.cross_entropy(out, y)
                opt.zero_grad()
                loss.backward()
                optim.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
        assert np.isfinite(loss.item())


def test_cupy_fast_paths_equal_generic(on_gpu):
    x = xn.tensor(np.random.default_rng(1).standard_normal((300, 70)), requires_grad=True)
    outs = []
    for fast in (True, False):
        with xn.config_context(fast=fast):
            x.grad = None
            y = nn.functional.gelu(x)
            y.backward(xn.asarray(np.ones((300, 70))))
            outs.append((xn.to_numpy(y), xn.to_numpy(x.grad)))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6, atol=1e-6)


def test_gpu_memory_does_not_grow_across_epochs(on_gpu):
    model = _w1_like(256)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    r = np.random.default_rng(0)
    X, y = r.standard_normal((4096, 32)).astype("float32"), r.integers(0, 10, 4096)
    pool = cupy.get_default_memory_pool()
    used = []
    for _ in range(4):
        xn.fit(model, (X, y), optimizer=opt, epochs=1, batch_size=128, progress=False)
        xn.synchronize()
        used.append(pool.used_bytes())
    assert used[-1] <= used[1], f"memory pool used bytes grew across epochs: {used}"
