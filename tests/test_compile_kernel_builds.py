"""The fused numba kernels of a compiled step off the critical path (``xpnet.compile.kernel_builds``)
and in the on-disk cache (``xpnet.compile.fusion_numba``): a step replays unfused while its kernels
are built in a background thread and switches between two replays, with the same numbers whichever
plan ran; ``compile_fusion="all"`` builds at the trace; a later process loads the kernels from the
cache instead of compiling them; an unwritable cache directory only turns the cache off."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.backend import to_numpy

fusion_numba = importlib.import_module("xpnet.compile.fusion_numba")
kernel_builds = importlib.import_module("xpnet.compile.kernel_builds")
F = nn.functional
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def fresh_kernels(monkeypatch):
    """No fused kernel compiled yet in this process (numba's dispatchers are per source and process)."""
    monkeypatch.setattr(fusion_numba, "_DISPATCHERS", {})
    yield
    assert kernel_builds.wait(timeout=300)


@pytest.fixture
def held_builds(monkeypatch):
    """Kernel builds wait for ``release.set()``: the test decides when the kernels become ready."""
    release = threading.Event()
    original = fusion_numba.NumbaGroupKernel.build

    def build(self):
        assert release.wait(300)
        original(self)

    monkeypatch.setattr(fusion_numba.NumbaGroupKernel, "build", build)
    yield release
    release.set()
    assert kernel_builds.wait(timeout=300)


def _batches(n=20, batch=8, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, classes, n).astype(np.int64)
    return [(xn.asarray(X[i:i + batch]), xn.asarray(y[i:i + batch])) for i in range(0, n, batch)]


def _make(width=8, opt="adam"):
    xn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(0.25),
                          nn.Linear(width, 3))
    o = optim.Adam(model.parameters(), lr=1e-2) if opt == "adam" else optim.SGD(model.parameters(), lr=0.05,
                                                                                 momentum=0.9)

    def step(xb, yb):
        loss = F.cross_entropy(model(xb), yb)
        o.zero_grad()
        loss.backward()
        o.step()
        return loss.data

    return model, step


def _state(model):
    return [to_numpy(v).copy() for v in model.state_dict().values()]


def _train(steps, compiled=True, release=None, release_at=None, **config):
    """Losses and final state of a seeded run; ``release`` is set after step ``release_at``."""
    with xn.use_backend("numpy"), xn.config_context(fast=True, **config):
        model, step = _make()
        f = xn.compile(step) if compiled else step
        batches = _batches()
        losses = []
        for i in range(steps):
            losses.append(to_numpy(f(*batches[i % len(batches)])).copy())
            if release is not None and i == release_at:
                release.set()
                assert f.wait(timeout=300)
        return np.stack(losses), _state(model), f


def test_background_build_gives_the_synchronous_numbers(fresh_kernels, held_builds, tmp_path):
    """Unfused replays while the kernels are held back, fused ones after: bit for bit the numbers of a
    step whose kernels were built at the trace, and of eager."""
    cache = str(tmp_path / "cache")
    bg_losses, bg_state, f = _train(30, release=held_builds, release_at=12, compile_cache=cache)
    assert f.kernel_error is None and f.pending == 0
    assert f.stats["unfused_replays"] >= 5, f.stats  # the kernels were not ready: replayed unfused
    assert f.stats["replays"] - f.stats["unfused_replays"] >= 10, f.stats  # then fused
    assert any(type(op.fn).__name__ == "NumbaGroupKernel" for p in f.plans for op in p.ops)
    sync_losses, sync_state, g = _train(30, compile_cache=cache, compile_background=False)
    assert g.stats["unfused_replays"] == 0 and g.stats["replays"] > 0
    eager_losses, eager_state, _ = _train(30, compiled=False)
    for other_losses, other_state in ((sync_losses, sync_state), (eager_losses, eager_state)):
        np.testing.assert_array_equal(bg_losses, other_losses)
        for a, b in zip(bg_state, other_state):
            np.testing.assert_array_equal(a, b)


def test_traced_argument_types_are_the_replayed_ones(fresh_kernels, tmp_path):
    """The background build compiles the signature the replay calls with: once built, replays compile
    nothing more."""
    _, _, f = _train(6, compile_cache=False)
    assert f.wait(timeout=300)
    compiled = fusion_numba.kernel_stats()["compiled"]
    assert compiled >= 2
    with xn.use_backend("numpy"):
        for _ in range(5):
            f(*_batches()[0])
    assert fusion_numba.kernel_stats()["compiled"] == compiled


def test_all_mode_builds_at_the_trace(fresh_kernels, held_builds, tmp_path):
    """``compile_fusion="all"`` (kernels may round exp/log apart from NumPy) never replays unfused: the
    kernels are built before the first replay, whatever the background thread does."""
    held_builds.set()  # the synchronous path calls build() in this thread
    with xn.use_backend("numpy"), xn.config_context(fast=True, compile_fusion="all", compile_cache=False):
        model, step = _make()
        f = xn.compile(step)
        b = _batches()
        for i in range(3):  # eager, trace, trace of the full batches (b[2] is a partial one)
            f(*b[i % 2])
        assert f.stats["traces"] >= 2 and f.pending == 0
        kernels = [op.fn for p in f.plans for op in p.ops if type(op.fn).__name__ == "NumbaGroupKernel"]
        assert kernels and all(k.ready for k in kernels)
        assert kernel_builds.pending() == 0
        for i in range(5):
            f(*b[i % 2])
        assert f.stats["unfused_replays"] == 0 and f.stats["replays"] == 5


def test_several_compiled_functions_share_the_builder(fresh_kernels, held_builds):
    """Two steps (two models, optimisers) queue their kernels on the one worker; each switches on its
    own and both keep their eager numbers."""
    with xn.use_backend("numpy"), xn.config_context(fast=True, compile_cache=False):
        m1, s1 = _make(8, "adam")
        m2, s2 = _make(5, "sgd")
        f1, f2 = xn.compile(s1), xn.compile(s2)
        b = _batches()
        l1, l2 = [], []
        for i in range(20):
            l1.append(to_numpy(f1(*b[i % 3])).copy())
            l2.append(to_numpy(f2(*b[i % 3])).copy())
            if i == 8:
                assert f1.pending >= 1 and f2.pending >= 1 and kernel_builds.pending() >= 1
                held_builds.set()
                assert f1.wait(300) and f2.wait(300)
        assert f1.stats["unfused_replays"] > 0 and f2.stats["unfused_replays"] > 0
        assert f1.stats["replays"] > f1.stats["unfused_replays"] and f2.stats["replays"] > f2.stats["unfused_replays"]
        e1, e2 = _make(8, "adam"), _make(5, "sgd")
        r1, r2 = [], []
        for i in range(20):  # interleaved as above: the dropout masks come from one generator stream
            r1.append(to_numpy(e1[1](*b[i % 3])).copy())
            r2.append(to_numpy(e2[1](*b[i % 3])).copy())
    np.testing.assert_array_equal(np.stack(l1), np.stack(r1))
    np.testing.assert_array_equal(np.stack(l2), np.stack(r2))


def test_unwritable_cache_directory_compiles_without_the_cache(fresh_kernels, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses, state, f = _train(12, compile_cache=str(blocker / "cache"), compile_background=False)
    assert f.stats["replays"] > 0 and f.kernel_error is None
    stats = fusion_numba.kernel_stats()
    assert stats["kernels"] >= 2 and stats["cached"] == 0 and stats["compiled"] >= 2
    eager_losses, eager_state, _ = _train(12, compiled=False)
    np.testing.assert_array_equal(losses, eager_losses)


def test_source_file_is_written_once_and_atomically(tmp_path):
    src = "def xpnet_fused_t(a0, o1):\n    o1[0] = a0[0]\n"
    d = str(tmp_path / "k")
    p = fusion_numba.source_file("xpnet_fused_t", src, False, d)
    assert p is not None and open(p).read() == src
    st = os.stat(p)
    assert fusion_numba.source_file("xpnet_fused_t", src, False, d) == p and os.stat(p).st_mtime_ns == st.st_mtime_ns
    assert [n for n in os.listdir(d) if n.endswith(".tmp")] == []  # no temporary file left behind
    assert fusion_numba.source_file("xpnet_fused_t", src, True, d) != p  # parallel is part of the key
    with open(p, "w") as fh:  # a file of that name with other contents is never used
        fh.write("# changed\n")
    assert fusion_numba.source_file("xpnet_fused_t", src, False, d) is None


def test_cache_dir_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("XPNET_CACHE", str(tmp_path / "env"))
    assert fusion_numba.cache_dir(True) == os.path.join(str(tmp_path / "env"), "numba")
    monkeypatch.delenv("XPNET_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fusion_numba.cache_dir(True) == os.path.join(str(tmp_path / "xdg"), "xpnet", "numba")
    assert fusion_numba.cache_dir(str(tmp_path / "mine")) == os.path.join(str(tmp_path / "mine"), "numba")
    assert fusion_numba.cache_dir(False) is None
    with pytest.raises(TypeError, match="compile_cache"):
        xn.set_config(compile_cache=3)


_CHILD = """
import json, sys, time, warnings
warnings.simplefilter("error")
import numpy as np, xpnet as xn
from xpnet import nn, optim
import importlib
fnb = importlib.import_module("xpnet.compile.fusion_numba")
xn.set_config(compile_cache=sys.argv[1], fast=True)
xn.manual_seed(0)
m = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
o = optim.Adam(m.parameters(), lr=1e-2)
def step(xb, yb):
    loss = nn.functional.cross_entropy(m(xb), yb)
    o.zero_grad(); loss.backward(); o.step()
    return loss.data
{prepare}
f = xn.compile(step)
rng = np.random.default_rng(0)
x = xn.asarray(rng.standard_normal((8, 6)).astype(np.float32)); y = xn.asarray(rng.integers(0, 3, 8))
for _ in range({steps}):
    f(x, y)
{finish}
kb = importlib.import_module("xpnet.compile.kernel_builds")
print(json.dumps(dict(fnb.kernel_stats(), replays=f.stats["replays"], error=repr(f.kernel_error),
                      pending=kb.pending(), unfused=f.stats["unfused_replays"])))
"""


def _start(cache, steps=6, finish="assert f.wait(300)", prepare=""):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NUMBA_CACHE_DIR", None)
    return subprocess.Popen([sys.executable, "-c", _CHILD.format(steps=steps, finish=finish, prepare=prepare),
                             str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _result(proc):
    import json

    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), err


def _child(cache, **kw):
    return _result(_start(cache, **kw))


def test_second_process_loads_the_kernels_from_the_disk_cache(tmp_path):
    """Two processes fill the same cold cache at once (atomic writes: neither reads half a file), a
    third loads every kernel and compiles none."""
    cache = tmp_path / "cache"
    (first, _), (other, _) = [_result(p) for p in [_start(cache), _start(cache)]]
    assert other["kernels"] == first["kernels"] and other["error"] == "None"
    assert first["compiled"] >= 2 and first["cached"] == first["kernels"], first
    assert first["compiled"] + first["loaded"] == other["compiled"] + other["loaded"]
    files = os.listdir(cache / "numba")
    assert sum(n.endswith(".py") for n in files) == first["kernels"]
    assert any(n.endswith(".nbi") for n in os.listdir(cache / "numba" / "__pycache__"))
    second, _ = _child(cache)
    assert second["compiled"] == 0 and second["loaded"] == first["compiled"] + first["loaded"], second
    assert second["error"] == "None" and second["replays"] >= 3


def test_exit_while_building_leaves_no_thread_and_says_nothing(tmp_path):
    """The process ends right after the trace, with kernels still queued: a clean exit, no output."""
    slow = ("build = fnb.NumbaGroupKernel.build\n"
            "fnb.NumbaGroupKernel.build = lambda self: (time.sleep(1), build(self))\n")
    stats, err = _child(tmp_path / "cache", steps=5, finish="pass", prepare=slow)
    assert stats["pending"] == 1 and stats["unfused"] >= 1, stats  # still building when the process ends
    assert err == ""
