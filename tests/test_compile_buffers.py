"""``xn.compile`` on NumPy writes the results that stay inside a replay into buffers reused across
replays (``xpnet/compile/buffers.py``); what the replay returns or stores stays a fresh array."""
from __future__ import annotations

import threading

import numpy as np

import xpnet as xn
from xpnet import nn, optim
from xpnet.backend import to_numpy
from helpers import train_step


def _data(n=64, d=12, seed=0):
    r = np.random.default_rng(seed)
    return (xn.asarray(r.standard_normal((n, d)).astype(np.float32)),
            xn.asarray(r.integers(0, 4, n).astype(np.int64)))


def _model():
    return nn.Sequential(nn.Linear(12, 32), nn.BatchNorm1d(32), nn.GELU(), nn.Dropout(0.2), nn.Linear(32, 16),
                         nn.ReLU(), nn.Linear(16, 4))


def test_internal_results_reuse_buffers_and_outputs_stay_fresh():
    xn.manual_seed(0)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = _data()

    @xn.compile
    def step(xb, yb):
        logits = model(xb)
        loss = nn.functional.cross_entropy(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return logits.data, loss.data

    outs = [step(x, y) for _ in range(6)]
    (plan,) = step.plans
    assert plan.buffers is not None and len(plan.buffers.specs) >= 4
    first = [id(b) for b in plan.buffers.get()]
    kept = [to_numpy(o[0]).copy() for o in outs]
    step(x, y)
    assert [id(b) for b in plan.buffers.get()] == first  # the same memory, replay after replay
    # what a replay returns is never a buffer: earlier results are not overwritten by later replays
    assert len({id(o[0]) for o in outs[-3:]}) == 3
    for o, k in zip(outs, kept):
        np.testing.assert_array_equal(to_numpy(o[0]), k)
    bufs = plan.buffers.get()
    for o in outs[-3:]:
        assert not any(np.shares_memory(o[0], b) or np.shares_memory(o[1], b) for b in bufs)
    for p in model.parameters():  # nor is anything the step leaves in the model or optimiser
        assert not any(np.shares_memory(p.data, b) or (p.grad is not None and np.shares_memory(p.grad.data, b))
                       for b in bufs)


def test_buffered_replay_equals_eager_bitwise():
    def run(compiled):
        xn.manual_seed(3)
        model = _model()
        opt = optim.Adam(model.parameters(), lr=1e-2)
        x, y = _data(seed=1)

        step = train_step(model, opt)

        f = xn.compile(step) if compiled else step
        losses = [float(to_numpy(f(x, y))) for _ in range(30)]
        return losses, [to_numpy(p.data).copy() for p in model.parameters()]

    (le, pe), (lc, pc) = run(False), run(True)
    assert le == lc
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a, b)


def test_threads_have_their_own_buffers():
    """One compiled model called from several threads at once: each thread replays into its own
    buffers, so every result equals the eager forward of its own input."""
    xn.manual_seed(1)
    model = _model()
    model.eval()
    f = xn.compile(model)
    inputs = [_data(n=256, seed=s)[0] for s in range(4)]
    with xn.no_grad():
        want = [to_numpy(model(x).data) for x in inputs]
        f(inputs[0]), f(inputs[0]), f(inputs[0])
    errors = []

    def work(i):
        try:
            with xn.no_grad():
                for _ in range(40):
                    got = to_numpy(f(inputs[i]).data)
                    if not np.array_equal(got, want[i]):
                        errors.append(i)
                        return
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert f.stats["replays"] >= 100
