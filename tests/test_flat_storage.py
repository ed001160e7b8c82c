"""Flat parameter storage (xpnet.optim.flat): decided once, at construction; one update per buffer;
a missing gradient counts as zeros; per-parameter state_dict in and out; model.to + optimizer.to."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.optim.flat import views_write_through
from helpers import host

VIEW_SAFE = ("numpy", "torch", "cupy")


def _model():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


def _batch(n=10, d=6, c=3, seed=0):
    r = np.random.default_rng(seed)
    return xn.asarray(r.standard_normal((n, d)).astype("float32")), xn.asarray(r.integers(0, c, n))


def _backward(model, X, y):
    model.zero_grad()
    nn.functional.cross_entropy(model(X), y).backward()


def _weights(model):
    return [host(p).copy() for p in model.parameters()]


def test_probe_decides_per_namespace(backend):
    """The backend's declared view guarantee, confirmed by a probe: array_api_strict declares none."""
    assert views_write_through(backend.xp) == (backend.name in VIEW_SAFE)


def test_parameters_are_views_of_one_buffer_from_construction(backend):
    model = _model()
    before = _weights(model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(model), before)), "values kept"
    if backend.name not in VIEW_SAFE:
        assert not opt.flat
        return
    assert opt.flat
    (bucket,), loose = opt._storage[0]
    assert loose == []
    bucket.data[...] = 0  # one write to the buffer reaches every parameter
    assert all(not host(p).any() for p in model.parameters())
    model[0].weight.data[...] = 1  # and a write to a parameter reaches the buffer
    n = model[0].weight.numel()
    assert host(bucket.data)[:n].tolist() == [1.0] * n


def test_one_update_per_buffer_even_without_a_gradient(backend):
    """No per-parameter fallback: a step where one parameter has no gradient is still one update."""
    model = _model()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    calls = []
    update = opt._update
    opt._update = lambda *a: calls.append(1) or update(*a)
    X, y = _batch()
    _backward(model, X, y)
    model[2].bias.grad = None
    opt.step()
    n = len(list(model.parameters()))
    assert len(calls) == (1 if backend.name in VIEW_SAFE else n - 1)


def test_missing_gradient_counts_as_zero(backend):
    """Flat storage: a parameter without a gradient is updated with zeros (momentum keeps moving it,
    as in PyTorch after zero_grad(set_to_none=False)); the per-parameter loop skips it (PyTorch)."""
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X, y = _batch()
    _backward(model, X, y)
    opt.step()
    _backward(model, X, y)
    model[2].bias.grad = None
    b0 = host(model[2].bias).copy()
    buf = host(opt.state[model[2].bias]["momentum_buffer"]).copy()
    opt.step()
    if backend.name in VIEW_SAFE:
        np.testing.assert_allclose(host(model[2].bias), b0 - 0.1 * (0.9 * buf), rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(host(model[2].bias), b0)


def test_frozen_before_construction_stays_frozen_and_freezing_later_raises(backend):
    model = _model()
    model[0].requires_grad_(False)
    w0 = host(model[0].weight).copy()
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.5)
    X, y = _batch()
    for _ in range(3):
        _backward(model, X, y)
        opt.step()
    np.testing.assert_array_equal(host(model[0].weight), w0)  # no weight decay on a frozen parameter
    model[2].bias.requires_grad = False
    _backward(model, X, y)
    if backend.name in VIEW_SAFE:
        with pytest.raises(RuntimeError, match="frozen.*requires_grad=False.*after"):
            opt.step()
    else:
        b2 = host(model[2].bias).copy()
        opt.step()
        np.testing.assert_array_equal(host(model[2].bias), b2)


def test_assigned_data_is_taken_into_the_buffer(backend):
    """``p.data = x`` after construction: copied into the storage at the next step, then updated."""
    runs = []
    for foreach in (None, False):
        xn.manual_seed(3)
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5, foreach=foreach)
        X, y = _batch()
        _backward(model, X, y)
        opt.step()
        model[0].weight.data = model[0].weight._xp.zeros_like(model[0].weight.data)
        for _ in range(2):
            _backward(model, X, y)
            opt.step()
        runs.append(_weights(model))
        if opt.flat:
            bucket = opt._storage[0][0][0]
            assert model[0].weight.data is bucket.views[0]
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [lambda p, f: optim.Adam(p, lr=1e-2, amsgrad=True, foreach=f),
                                  lambda p, f: optim.NAdam(p, lr=1e-2, foreach=f),
                                  lambda p, f: optim.SGD(p, lr=0.1, momentum=0.9, foreach=f)],
                         ids=["adam", "nadam", "sgd"])
def test_state_dict_moves_between_storages_bitwise(backend, make):
    """A per-parameter state_dict (the format of every xpnet checkpoint, old ones included) loads into
    flat storage and back; training continues with the same bits."""
    X, y = _batch()

    def run(first, second):
        xn.manual_seed(1)
        model = _model()
        opt = make(model.parameters(), first)
        for i in range(5):
            if i == 2:
                sd = opt.state_dict()
                opt = make(model.parameters(), second)
                opt.load_state_dict(sd)
            _backward(model, X, y)
            opt.step()
        return _weights(model), opt.state_dict()

    (wa, sa), (wb, sb) = run(None, False), run(False, None)
    for a, b in zip(wa, wb):
        np.testing.assert_array_equal(a, b)
    assert sorted(sa["state"]) == sorted(sb["state"]) == list(range(4))
    for i in sa["state"]:
        for k, v in sa["state"][i].items():
            np.testing.assert_array_equal(host(v) if hasattr(v, "shape") else v,
                                          host(sb["state"][i][k]) if hasattr(v, "shape") else sb["state"][i][k])


def test_checkpoint_with_partial_state_loads_per_parameter(backend):
    """A checkpoint where some parameters never had a gradient (their state missing, as a per-parameter
    run writes it) cannot be one flat state: those buffers are dissolved and the run continues exactly as
    the per-parameter loop."""
    X, y = _batch()

    def run(foreach):
        xn.manual_seed(2)
        model = _model()
        old = optim.Adam(model.parameters(), lr=1e-2, foreach=False)
        for _ in range(2):
            _backward(model, X, y)
            model[2].bias.grad = None  # never a gradient: no state for it
            old.step()
        sd = old.state_dict()
        assert len(sd["state"]) == 3
        opt = optim.Adam(model.parameters(), lr=1e-2, foreach=foreach)
        opt.load_state_dict(sd)
        for _ in range(2):
            _backward(model, X, y)
            opt.step()
        return _weights(model), opt

    (wa, opt), (wb, _) = run(None), run(False)
    for a, b in zip(wa, wb):
        np.testing.assert_array_equal(a, b)
    assert not opt.flat


def test_model_to_then_optimizer_to_rebuilds_the_storage():
    """numpy → torch mid-run: stepping before optimizer.to raises; after it the storage is flat again on
    the new backend and training continues as the per-parameter loop does."""
    pytest.importorskip("torch")
    runs = []
    for foreach in (None, False):
        with xn.use_backend("numpy"):
            xn.manual_seed(4)
            model = _model()
            opt = optim.Adam(model.parameters(), lr=1e-2, foreach=foreach)
            X, y = _batch()
            for _ in range(2):
                _backward(model, X, y)
                opt.step()
        model.to("torch")
        with xn.use_backend("torch"):
            X, y = _batch()
            _backward(model, X, y)
            with pytest.raises(RuntimeError, match="optimizer.to"):
                opt.step()
            opt.to("torch")
            assert opt.flat == (foreach is None)
            for _ in range(2):
                _backward(model, X, y)
                opt.step()
            if foreach is None:
                bucket = opt._storage[0][0][0]
                assert all(p.data is v for p, v in zip(model.parameters(), bucket.views))
                assert type(bucket.data).__module__.startswith("torch")
            runs.append(_weights(model))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_model_moved_before_the_first_step_needs_no_optimizer_to():
    """No state yet: the storage is built again where the parameters are (PyTorch allows this order)."""
    pytest.importorskip("torch")
    with xn.use_backend("numpy"):
        model = _model()
        opt = optim.Adam(model.parameters(), lr=1e-2)
    model.to("torch")
    with xn.use_backend("torch"):
        X, y = _batch()
        for _ in range(2):
            _backward(model, X, y)
            opt.step()
        bucket = opt._storage[0][0][0]
        assert all(p.data is v for p, v in zip(model.parameters(), bucket.views))
        assert type(bucket.data).__module__.startswith("torch") and opt.flat
