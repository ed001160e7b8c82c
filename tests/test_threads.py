"""Seeded runs are reproducible whatever runs beside them: per-thread random streams
(``manual_seed`` in a thread seeds that thread's streams), explicit ``xn.Generator`` objects, and a
per-thread default dtype."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.backend import BackendUnavailableError, load

REPS = 30


def _available(name):
    try:
        load(name)
        return True
    except BackendUnavailableError:
        return False


def _data(seed):
    r = np.random.default_rng(seed)
    X = r.standard_normal((48, 6)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)


def _train(backend, seed, explicit=False):
    """A dropout model trained 2 epochs with shuffling; returns its parameters on the host."""
    with xn.use_backend(backend):
        xn.manual_seed(seed)  # initialisation
        gen = xn.Generator(seed + 100) if explicit else None  # dropout and shuffling, when given
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.4), nn.Linear(16, 3))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        xn.fit(model, _data(seed), optimizer=opt, epochs=2, batch_size=8, progress=False, generator=gen)
        return [xn.to_numpy(p).copy() for p in model.parameters()]


PAIRS = [("numpy", "numpy"), ("numpy", "torch"), ("torch", "torch"), ("array_api_strict", "numpy"),
         ("torch", "array_api_strict")]


@pytest.mark.parametrize("explicit", [False, True], ids=["manual_seed", "generator"])
@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_two_threads_equal_their_serial_runs(pair, explicit):
    for name in pair:
        if not _available(name):
            pytest.skip(f"{name} is not available")
    seeds = (1, 2)
    serial = [_train(b, s, explicit) for b, s in zip(pair, seeds)]
    assert any(not np.array_equal(a, b) for a, b in zip(serial[0], serial[1])) or pair[0] != pair[1]
    for rep in range(REPS):
        out = [None, None]
        errors = []
        start = threading.Barrier(2)

        def work(i):
            try:
                start.wait()
                out[i] = _train(pair[i], seeds[i], explicit)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for i in range(2):
            for a, b in zip(out[i], serial[i]):
                np.testing.assert_array_equal(a, b, err_msg=f"repetition {rep}, thread {i} ({pair[i]})")


def test_manual_seed_in_a_thread_leaves_other_threads_alone():
    xn.manual_seed(5)
    first = xn.to_numpy(xn.backend.random.uniform((4,), backend="numpy"))
    t = threading.Thread(target=lambda: xn.manual_seed(123))
    t.start()
    t.join()
    xn.manual_seed(5)
    again = xn.to_numpy(xn.backend.random.uniform((4,), backend="numpy"))
    np.testing.assert_array_equal(first, again)
    seen = []

    def draw():  # a thread that never seeds starts from the main thread's seed
        seen.append(xn.to_numpy(xn.backend.random.uniform((4,), backend="numpy")))

    t = threading.Thread(target=draw)
    t.start()
    t.join()
    np.testing.assert_array_equal(seen[0], first)


def test_dropout_generator_argument_is_used():
    x = xn.asarray(np.ones((8, 32), np.float32))
    a = xn.to_numpy(nn.Dropout(0.5, generator=xn.Generator(3))(x))
    xn.manual_seed(77)  # the global stream does not matter
    b = xn.to_numpy(nn.Dropout(0.5, generator=xn.Generator(3))(x))
    c = xn.to_numpy(nn.Dropout(0.5, generator=xn.Generator(4))(x))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_set_default_dtype_in_a_thread_is_that_threads():
    seen = {}

    def worker():
        xn.set_default_dtype("float64")
        seen["worker"] = str(xn.asarray([1.0]).dtype)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["worker"] == "float64"
    assert xn.get_default_dtype() == "float32" and str(xn.asarray([1.0]).dtype) == "float32"
