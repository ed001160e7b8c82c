"""The fusion pass of ``xn.compile`` (xpnet/compile/fusion.py): elementwise runs become one generated
kernel each (CuPy ``ElementwiseKernel``, numba on NumPy), the replay stays eager's results, in-place
updates and aliasing are respected, and every generated CUDA source compiles with NVRTC."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.backend import to_numpy
from xpnet.bench import opcount
from xpnet.bench.workloads import WORKLOADS, build_xpnet, xpnet_optimizer
from xpnet.compile.fusion import Group, fuse, target_of
from xpnet.compile.tracer import Op, Ref
from helpers import train_step

ROOT = pathlib.Path(__file__).resolve().parents[1]
F = nn.functional


def _fused_ops(f, reductions=False):
    kinds = ("CupyGroupKernel", "CupySideKernel", "NumbaGroupKernel") + (("CupyReductionKernel",) if reductions else ())
    return [op for op in f.plans[-1].ops if type(op.fn).__name__ in kinds]


def _train(model_fn, opt_fn, steps, compiled, batch=16, seed=0):
    xn.manual_seed(seed)
    model = model_fn()
    opt = opt_fn(model.parameters())
    rng = np.random.default_rng(seed)
    X = xn.asarray(rng.standard_normal((batch, 6)).astype(np.float32))
    y = xn.asarray(rng.integers(0, 3, batch).astype(np.int64))

    step = train_step(model, opt)

    f = xn.compile(step) if compiled else step
    losses = [float(to_numpy(f(X, y))) for _ in range(steps)]
    return np.array(losses), [to_numpy(p.data).copy() for p in model.parameters()], f


def _mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Dropout(0.2), nn.Linear(16, 3))


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_fused_replay_equals_eager(backend, opt_name):
    """Bit for bit where the targets fuse only correctly rounded operations (the default)."""
    make = {"sgd": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
            "adam": lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=1e-4)}[opt_name]
    le, pe, _ = _train(_mlp, make, 40, False)
    lc, pc, f = _train(_mlp, make, 40, True)
    np.testing.assert_array_equal(le, lc)
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a, b)
    target = target_of(xn.asarray(np.zeros(2, np.float32)))
    assert (len(_fused_ops(f)) > 0) == (target is not None)
    assert f.plans[-1].fusion == target


def test_fusing_exp_and_log_too_stays_within_1e6_over_100_steps(backend):
    """``compile_fusion="all"``: exp/log fuse too; the host math library may round them one ulp apart
    from the array library's, so the 100-step trajectory agrees to 1e-6 relative (SGD)."""
    make = lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3)  # noqa: E731
    le, pe, _ = _train(_mlp, make, 100, False)
    with xn.config_context(compile_fusion="all"):
        lc, pc, f = _train(_mlp, make, 100, True)
    np.testing.assert_allclose(lc, le, rtol=1e-6)
    for a, b in zip(pe, pc):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6 * float(np.max(np.abs(a))))


def test_fusion_off_replays_unfused():
    with xn.use_backend("numpy"), xn.config_context(compile_fusion=False):
        _, _, f = _train(_mlp, lambda ps: optim.SGD(ps, lr=0.1), 4, True)
    assert not _fused_ops(f) and f.plans[-1].fusion is None


def test_flat_optimizer_update_is_one_kernel():
    """SGD with momentum and weight decay over the flat buffers: ``g + wd·p``, ``m = μ·m + g``,
    ``p -= lr·m`` is one fused op writing both buffers in place."""
    with xn.use_backend("numpy"):
        _, _, f = _train(_mlp, lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3), 4, True)
    last = [op for op in f.plans[-1].ops if op.inplace is not None][-1]
    assert type(last.fn).__name__ == "NumbaGroupKernel" and last.fn.ops >= 5


def _meta(**shapes):
    return {int(k[1:]): (v, "float32") for k, v in shapes.items()}


def _emit(g):
    return Op("call", "FUSED", tuple(Ref(v) for v in g.inputs + g.targets), {}, tuple(g.outputs),
              inplace=g.targets[0] if g.targets else None, multi=True)


def test_grouping_rules():
    """Runs split where a result of another shape leaves the run; a pure reduction that reads none of
    the run is moved before it; an in-place write closes the run at the next non-elementwise op."""
    m = _meta(v0=(4, 3), v1=(4, 1), v2=(4, 3), v3=(4, 1), v4=(4, 3), v5=(), v6=(4, 3), v7=(4, 3))
    ops = [Op("method", "__mul__", (Ref(0), Ref(0)), {}, (2,)),       # (4,3)
           Op("call", np.log, (Ref(1),), {}, (3,)),                    # (4,1) used only inside
           Op("call", np.sum, (Ref(0),), {}, (5,)),                    # reduction, reads no run result
           Op("method", "__sub__", (Ref(2), Ref(3)), {}, (4,)),        # (4,3) leaves
           Op("method", "__mul__", (Ref(4), Ref(5)), {}, (6,)),        # (4,3)
           Op("call", np.sum, (Ref(6),), {}, (7,))]                     # reads the run: closes it
    out = fuse(ops, m | {7: ((), "float32")}, {7}, _emit)
    assert [o.fn for o in out] == [np.sum, "FUSED", np.sum]
    assert out[1].outs == (6,) and set(r.n for r in out[1].args) == {0, 1, 5}
    # the (4,1) result used after the run cannot leave a (4,3) kernel: split
    out = fuse(ops[:2] + [ops[3]], m, {3, 4}, _emit)
    assert [o.fn for o in out] == ["FUSED", "FUSED"] or [o.fn for o in out][-1] == "FUSED"
    assert all(set(o.outs) <= {2, 3, 4} for o in out) and any(o.outs == (3,) for o in out)


def test_inplace_write_aliasing_an_input_is_not_fused():
    m = _meta(v0=(8,), v1=(8,), v2=(8,))
    ops = [Op("method", "__mul__", (Ref(1), 0.5), {}, (2,)),
           Op("method", "__isub__", (Ref(0), Ref(2)), {}, (0,), inplace=0)]
    assert [o.fn for o in fuse(ops, m, set(), _emit)] == ["FUSED"]
    kept = fuse(ops, m, set(), _emit, overlap=lambda a, b: {a, b} == {0, 1})
    # p -= f(view of p): the write and the read of the alias are not one kernel (split in two)
    assert len(kept) == 2 and not any(o.inplace == 0 and 1 in [r.n for r in o.args] for o in kept)
    assert isinstance(Group, type)


def test_generated_kernels_compile_with_nvrtc(tmp_path):
    """Every ElementwiseKernel and ReductionKernel the pass generates for W1–W3 compiles for sm_80 and
    sm_90."""
    specs = {}
    b = opcount.standin_backend()
    for name in ("W1", "W2", "W3"):
        wl = WORKLOADS[name]
        X, y = opcount._data(wl)
        with xn.use_backend(b), xn.config_context(compile_fusion="all"):
            xn.manual_seed(0)
            model = build_xpnet(wl.layers)
            opt = xpnet_optimizer(model.parameters(), wl.optimizer)
            Xd, yd = xn.asarray(X), xn.asarray(y)

            step = train_step(model, opt)

            f = xn.compile(step, state=(model, opt))
            for _ in range(3):
                f(Xd, yd)
        for op in _fused_ops(f, reductions=True):
            specs[op.fn.name] = op.fn.spec()
    assert len(specs) >= 10
    assert sum(s[0] == "reduction" for s in specs.values()) >= 5  # sum, mean and max with prologues
    path = tmp_path / "kernels.json"
    path.write_text(json.dumps(list(specs.values())))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "nvrtc_fused_check.py"), str(path)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert not any("error" in row for row in rows), rows
    assert r.returncode == 0, [row for row in rows if not row.get("ok")] or r.stderr[-2000:]
    assert {row["kernel"] for row in rows} == set(specs) and len(rows) == 4 * len(specs)


def test_numba_fused_division_by_zero_is_numpys():
    """A fused kernel divides as NumPy does: x/0 is ±inf or NaN (numba's default error model would
    raise ZeroDivisionError, and its divisor checks keep the loop from vectorising)."""
    from xpnet.backend import fast_numpy

    if not fast_numpy.AVAILABLE:
        pytest.skip("numba not installed: the NumPy fusion target is optional (pip install 'xpnet[fast]')")
    x = xn.asarray(np.array([[1.0, -1.0, 0.0, 2.0]] * 3, np.float32))
    d = xn.asarray(np.array([[0.0, 0.0, 0.0, 4.0]] * 3, np.float32))

    def f(a, b):
        return (a * 2.0 + 1.0) / (b * 1.0) - 1.0

    with np.errstate(divide="ignore", invalid="ignore"):
        want = to_numpy(f(x, d))
        cf = xn.compile(f)
        for _ in range(4):
            got = cf(x, d)
        cf.wait()
        got = to_numpy(cf(x, d))
    (plan,) = cf.plans
    assert plan.fusion == "numba" and any(type(op.fn).__name__ == "NumbaGroupKernel" for op in plan.ops)
    np.testing.assert_array_equal(got, want)
