"""``xn.compile``: a traced and replayed step gives the eager step's results, bit for bit (the replay
runs the same array operations in the same order), on every namespace of the fixture; where the
replay fuses elementwise runs into generated kernels (CuPy, NumPy with numba), to 1e-6 relative."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.backend import to_numpy
from xpnet.compile import CompiledFunction, CompileWarning
from helpers import train_step

F = nn.functional

OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=1e-4),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2),
    "nadam": lambda ps: optim.NAdam(ps, lr=1e-2),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=1e-2, momentum=0.5),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=5e-2),
}


def _batches(n=20, batch=8, d=6, classes=3, seed=0):
    """Two full batches and a partial last one (8, 8, 4 rows): the last is a second trace."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, classes, n).astype(np.int64)
    return [(xn.asarray(X[i:i + batch]), xn.asarray(y[i:i + batch])) for i in range(0, n, batch)]


def _model():
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 3))


def _run(opt_name, compiled, steps, schedule=False):
    xn.manual_seed(0)
    model = _model()
    opt = OPTIMIZERS[opt_name](model.parameters())
    sched = optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.7) if schedule else None
    batches = _batches()

    step = train_step(model, opt)

    f = xn.compile(step) if compiled else step
    losses = []
    for i in range(steps):
        losses.append(to_numpy(f(*batches[i % len(batches)])).copy())
        if sched is not None:
            sched.step()  # the learning rate changes between replays: a runtime input, not a constant
    state = {k: to_numpy(v).copy() for k, v in model.state_dict().items()}
    for i, p in enumerate(model.parameters()):
        state[f"grad{i}"] = to_numpy(p.grad).copy()
        for k, v in opt.state[p].items():
            state[f"opt{i}.{k}"] = to_numpy(v).copy() if hasattr(v, "shape") else np.asarray(v)
    return np.stack(losses), state, f


def fused() -> bool:
    """Whether a compiled step on the active backend fuses ``exp``/``log`` too (``compile_fusion="all"``):
    then its kernels may round them one ulp apart from the library's: equal to 1e-6 relative instead
    of bit for bit (the default fuses only correctly rounded operations: the same bits)."""
    from xpnet.compile.fusion import target_of

    return xn.get_config()["compile_fusion"] == "all" and target_of(xn.asarray(np.zeros(2, np.float32))) is not None


def assert_close(a, b, err_msg=""):
    a, b = np.asarray(a), np.asarray(b)
    if fused():
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * max(1.0, float(np.max(np.abs(b), initial=0))),
                                   err_msg=err_msg)
    else:
        np.testing.assert_array_equal(a, b, err_msg=err_msg)


def _assert_same(a, b):
    la, sa, _ = a
    lb, sb, _ = b
    assert_close(la, lb)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert_close(sa[k], sb[k], err_msg=k)


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_compiled_equals_eager_100_steps(backend, opt_name):
    eager = _run(opt_name, False, 100, schedule=True)
    comp = _run(opt_name, True, 100, schedule=True)
    _assert_same(eager, comp)
    f = comp[2]
    assert f.fallback is None
    assert f.stats["traces"] == 4  # two shapes (full and partial batch), each traced twice
    assert f.stats["replays"] == 100 - 1 - 4
    assert len(f.plans) == 2


@pytest.mark.parametrize("opt_name", ["adamw", "nadam", "rmsprop", "adagrad"])
def test_every_optimizer_compiled_equals_eager(backend, opt_name):
    eager = _run(opt_name, False, 30)
    comp = _run(opt_name, True, 30)
    _assert_same(eager, comp)
    assert comp[2].fallback is None and comp[2].stats["replays"] > 20


def test_running_statistics_and_dropout_are_replayed(backend):
    """BatchNorm's running mean moves and dropout masks differ from step to step in a replay."""
    xn.manual_seed(0)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.0)  # weights stay: outputs differ by the dropout masks only
    xb, yb = _batches()[0]

    def step(xb, yb):
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return out.data

    f = xn.compile(step)
    outs, means = [], []
    for _ in range(6):
        outs.append(to_numpy(f(xb, yb)).copy())
        means.append(to_numpy(model[1].running_mean).copy())
    assert f.stats["replays"] == 3
    assert not np.array_equal(means[-1], means[-2])
    assert not np.array_equal(outs[-1], outs[-2]) and not np.array_equal(outs[-2], outs[-3])


def test_fit_compile_equals_eager(backend):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 6)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    runs = []
    for compiled in (False, True):
        xn.manual_seed(3)
        model = _model()
        opt = optim.Adam(model.parameters(), lr=1e-2)
        sched = optim.lr_scheduler.ExponentialLR(opt, 0.8)
        h = xn.fit(model, (X, y), optimizer=opt, scheduler=sched, epochs=4, batch_size=16, progress=False,
                   compile=compiled)
        runs.append((h.history["loss"], {k: to_numpy(v).copy() for k, v in model.state_dict().items()}))
    assert_close(runs[0][0], runs[1][0])
    for k in runs[0][1]:
        assert_close(runs[0][1][k], runs[1][1][k], err_msg=k)


def test_compile_option_is_fits_default():
    assert xn.get_config()["compile"] in (True, False)
    from xpnet.compile import enabled_default

    with xn.config_context(compile=False):
        assert enabled_default() is False
    with xn.config_context(compile=True):
        assert enabled_default() is True


def test_compiled_model_inference(backend):
    xn.manual_seed(0)
    model = _model()
    model.train()
    xb, _ = _batches()[0]
    f = xn.compile(model)
    model.eval()
    with xn.no_grad():
        ref = to_numpy(model(xb).data)
    for _ in range(4):
        got = f(xb)
    assert isinstance(got, xn.Tensor)
    assert_close(to_numpy(got.data), ref)
    assert f.stats["replays"] >= 1
    model.train()  # train mode: another guard key, another plan (dropout draws)
    f(xb)
    assert len(f.entries) == 2


def test_host_read_falls_back_with_one_warning():
    """Printing (or converting to NumPy) a traced value cannot be replayed: eager from then on, once warned."""
    xn.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = xn.asarray(np.ones((3, 4), np.float32))
    seen = []

    def step(x):
        loss = model(x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen.append(repr(loss.data))
        return loss.data

    ref_model = nn.Linear(4, 2)
    f = xn.compile(step)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for _ in range(5):
            f(x)
    msgs = [str(m.message) for m in w if issubclass(m.category, CompileWarning)]
    assert len(msgs) == 1 and "printing" in msgs[0]
    assert f.fallback is not None and f.stats["replays"] == 0
    assert len(seen) == 5
    del ref_model


def test_branch_on_host_data_is_a_guard():
    """On host memory a Python branch on a value becomes a guard: a different outcome re-traces."""
    xn.manual_seed(0)
    calls = []

    def step(x):
        xp = x.__array_namespace__()
        calls.append(1)
        if float(xp.max(x)) > 0.5:
            return x * 2.0
        return x - 1.0

    f = xn.compile(step)
    small = np.full((2, 2), 0.25, np.float32)
    big = np.full((2, 2), 0.75, np.float32)
    for _ in range(4):
        np.testing.assert_array_equal(f(small), small - 1.0)
    assert f.stats["replays"] == 1
    np.testing.assert_array_equal(f(big), big * 2.0)  # guard miss: traced again, right branch
    assert f.stats["misses"] == 1
    for _ in range(3):
        np.testing.assert_array_equal(f(big), big * 2.0)
    np.testing.assert_array_equal(f(small), small - 1.0)
    assert f.stats["misses"] == 2


def test_replaced_parameter_is_a_guard_miss(backend):
    xn.manual_seed(0)
    model = nn.Linear(4, 2)
    x = xn.asarray(np.ones((3, 4), np.float32))
    f = xn.compile(model)
    for _ in range(4):
        f(x)
    model.weight.data = xn.asarray(np.ones((2, 4), np.float32))  # a new array: read through its path
    with xn.no_grad():
        ref = to_numpy(model(x).data)
    np.testing.assert_array_equal(to_numpy(f(x).data), ref)
    model.bias.data = xn.asarray(np.zeros(5, np.float32))  # another shape: the plan's guard misses
    with pytest.raises(Exception):
        model(x)
    with pytest.raises(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        f(x)


def test_no_growth_across_epochs():
    """Replays keep no per-call state: plans, entries and traced constants stay the same."""
    xn.manual_seed(0)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    batches = _batches()

    step = train_step(model, opt)

    f = xn.compile(step)
    for i in range(30):
        f(*batches[i % 3])
    assert f.wait(timeout=120)  # the fused kernels built in the background: numba's memory is not the replay's
    plans = [id(p) for p in f.plans]
    sizes = [len(p.ops) for p in f.plans]
    import tracemalloc

    tracemalloc.start()
    for i in range(300):
        f(*batches[i % 3])
    cur, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [id(p) for p in f.plans] == plans and [len(p.ops) for p in f.plans] == sizes
    assert cur < 200_000  # bytes still allocated after 300 replays (arrays are freed; nothing accumulates)


def test_compile_rejects_non_callable():
    with pytest.raises(TypeError, match="fn"):
        xn.compile(3)
    assert isinstance(xn.compile(lambda x: x), CompiledFunction)


def test_first_call_traced_in_a_fresh_process():
    """The first xpnet call of a process may be a trace: the fast kernel modules (numba GELU) are then
    imported and compiled inside it. They must still be recorded, and numba must see ``math``'s own
    functions (it failed with "module 'xpnet.compile.scalars' has no attribute 'exp'", so the compiled
    model silently ran eagerly)."""
    import subprocess
    import sys

    code = (
        "import warnings, numpy as np, xpnet as xn\n"
        "from xpnet import nn\n"
        "warnings.simplefilter('error')\n"
        "m = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Linear(16, 3)); m.eval()\n"
        "x = xn.asarray(np.random.default_rng(0).standard_normal((2000, 6)).astype(np.float32))\n"
        "f = xn.compile(m)\n"
        "with xn.no_grad():\n"
        "    outs = [f(x) for _ in range(4)]\n"
        "    ref = m(x)\n"
        "assert f.stats['replays'] >= 1 and f.fallback is None, (f.stats, f.fallback)\n"
        "np.testing.assert_allclose(xn.to_numpy(outs[-1].data), xn.to_numpy(ref.data), rtol=1e-6, atol=1e-6)\n"
        "print('ok', f.stats)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-3000:]
