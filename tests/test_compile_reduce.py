"""The CuPy target's launch cutters in ``xn.compile`` (xpnet/compile/fusion.py): the fast BatchNorm/GELU
kernels decomposed into fusable nodes, in-place bias adds renamed, reductions with an elementwise
prologue as one ``cupy.ReductionKernel`` (emulated on the stand-in), groups recomputed inside their
consumers. Results stay eager's, bit for bit on the stand-in."""
from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.backend import to_numpy
from xpnet.bench import opcount
from xpnet.bench.workloads import WORKLOADS
from xpnet.compile.fusion import KERNEL_NODES, rename_inplace
from xpnet.compile.tracer import Op, Ref
from helpers import train_step

F = nn.functional


@pytest.fixture(scope="module")
def standin():
    return opcount.standin_backend()


def _residual_mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Dropout(0.2),
                         nn.Residual(nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Dropout(0.1))),
                         nn.Linear(16, 3))


def _train(backend, make_opt, steps, compiled, fusion):
    with xn.use_backend(backend), xn.config_context(compile_fusion=fusion):
        xn.manual_seed(0)
        model = _residual_mlp()
        opt = make_opt(model.parameters())
        rng = np.random.default_rng(0)
        X = xn.asarray(rng.standard_normal((16, 6)).astype(np.float32))
        y = xn.asarray(rng.integers(0, 3, 16).astype(np.int64))

        step = train_step(model, opt)

        f = xn.compile(step, state=(model, opt)) if compiled else step
        losses = [float(to_numpy(f(X, y))) for _ in range(steps)]
        params = [to_numpy(p.data).copy() for p in model.parameters()]
        buffers = [to_numpy(b).copy() for _, b in model.named_buffers()] if hasattr(model, "named_buffers") else []
    return np.array(losses), params, buffers, f


def _kinds(f):
    return [type(op.fn).__name__ for op in f.plans[-1].ops]


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_bn_gelu_dropout_residual_equals_eager_bitwise_over_100_steps(standin, opt):
    """The exact fusion mode (correctly rounded ops, the decomposed kernels' own C math) is eager's bits."""
    make = {"sgd": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
            "adam": lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=1e-4)}[opt]
    le, pe, be, _ = _train(standin, make, 100, False, True)
    lc, pc, bc, f = _train(standin, make, 100, True, True)
    assert f.stats["replays"] >= 95  # the first calls trace (and confirm the trace)
    np.testing.assert_array_equal(le, lc)
    for a, b in zip(pe + be, pc + bc):
        np.testing.assert_array_equal(a, b)
    kinds = _kinds(f)
    assert "CupyReductionKernel" in kinds
    assert not any(getattr(op.fn, "__module__", "") == "xpnet.backend.fast_cupy" for op in f.plans[-1].ops)


def test_w1_plan_keeps_no_opaque_kernel_and_counts_fewer_launches():
    wl = WORKLOADS["W1"]
    comp = opcount.count_compiled(wl, steps=1)
    names = comp["by_name"]
    assert not any(k.startswith(("kernel:xpnet_bn", "kernel:xpnet_gelu")) for k in names)
    red = sum(v for k, v in names.items() if k.startswith("kernel:xpnet_reduce_"))
    plain = sum(names.get(k, 0) for k in ("sum", "mean", "max"))
    assert red >= 8 and red > plain  # most reductions carry their producer as a prologue
    assert comp["host_reads"] == 0
    assert "concatenate" not in names  # the flat optimiser's kernel reads the gradients where they are
    # every launch the plan makes is one of: matmul, random draw, fused kernel, reduction, concatenate
    assert sum(names.values()) == comp["total"]


def test_standin_reduction_kernel_matches_numpy(standin):
    import cupy

    k = cupy.ReductionKernel("float32 x, float32 b", "float32 y", "m_map(x, b)", "a + b", "y = a / (float)4", "0",
                             "m_mean", reduce_type="float",
                             preamble="__device__ float m_map(float x, float b) { return (x + b) * x; }\n")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((5,)).astype(np.float32)
    got = cupy.asnumpy(k(cupy.asarray(x), cupy.asarray(b), axis=(0,), keepdims=False))
    np.testing.assert_array_equal(got, np.mean((x + b) * x, axis=0))
    mx = cupy.ReductionKernel("float32 x", "float32 y", "x * x", "(a != a || a > b) ? a : b", "y = a",
                              "__int_as_float(0xff800000)", "m_max", reduce_type="float")
    x[1, 2] = np.nan
    got = cupy.asnumpy(mx(cupy.asarray(x), axis=(1,), keepdims=True))
    np.testing.assert_array_equal(got, np.max(x * x, axis=1, keepdims=True))
    with pytest.raises(NotImplementedError, match="reduce_expr"):
        cupy.ReductionKernel("float32 x", "float32 y", "x", "a * b", "y = a", "1", "m_prod")


def test_kernel_nodes_cover_every_fast_cuda_kernel():
    from xpnet.backend import fast_cupy

    for name in ("gelu_forward", "gelu_backward", "batchnorm_forward", "batchnorm_running", "batchnorm_backward"):
        assert callable(getattr(fast_cupy, name)) and name in KERNEL_NODES
    assert fast_cupy.batchnorm_running.xpnet_writes == (0, 1)


def test_rename_inplace_only_fresh_unviewed_results():
    meta = {0: ((4, 3), "float32"), 1: ((3,), "float32"), 2: ((4, 3), "float32"), 3: ((4, 3), "float32"),
            5: ((3, 4), "float32"), 6: ((4, 3), "float32")}
    mm = Op("method", "__matmul__", (Ref(0), Ref(0)), {}, (2,))
    add = Op("method", "__iadd__", (Ref(2), Ref(1)), {}, (2,), inplace=2)
    use = Op("method", "__mul__", (Ref(2), Ref(2)), {}, (3,))
    ops, renamed = rename_inplace([mm, add, use], dict(meta), live={3})
    assert len(renamed) == 1 and ops[1].inplace is None and ops[1].fn == "__add__"
    n = next(iter(renamed))
    assert [r.n for r in ops[2].args] == [n, n]
    # a view taken of the result first: the in-place add must stay
    view = Op("method", "transpose", (Ref(2),), {}, (5,))
    ops, renamed = rename_inplace([mm, view, add, use], dict(meta), live={3, 5})
    assert not renamed and ops[2] is add
    # a live result (returned, written back): stays
    ops, renamed = rename_inplace([mm, add], dict(meta), live={2})
    assert not renamed


def _strided_stats(bn, xp):
    """Running statistics replaced by non-contiguous views holding the same values."""
    for name in ("running_mean", "running_var"):
        a = bn.__dict__[name]
        big = xp.zeros((2 * a.shape[0],), dtype=a.dtype)
        view = big[::2]
        view[...] = a
        assert not view.flags.c_contiguous
        bn.__dict__[name] = view


def test_side_group_runs_apart_when_its_arrays_are_strided(standin):
    """BatchNorm's running statistics are updated by the first threads of the next kernel (one launch);
    given strided running buffers, the two kernels run apart and the results stay eager's."""
    def run(compiled):
        with xn.use_backend(standin):
            xn.manual_seed(0)
            model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
            opt = optim.SGD(model.parameters(), lr=0.05)
            rng = np.random.default_rng(0)
            X = xn.asarray(rng.standard_normal((16, 6)).astype(np.float32))
            y = xn.asarray(rng.integers(0, 3, 16).astype(np.int64))

            step = train_step(model, opt)

            f = xn.compile(step, state=(model, opt)) if compiled else step
            for i in range(8):
                if i == 4:
                    _strided_stats(model[1], standin.xp)
                f(X, y)
            stats = [to_numpy(model[1].running_mean).copy(), to_numpy(model[1].running_var).copy()]
            return stats + [to_numpy(p.data).copy() for p in model.parameters()], f

    eager, _ = run(False)
    comp, f = run(True)
    for a, b in zip(eager, comp):
        np.testing.assert_array_equal(a, b)
    assert "CupySideKernel" in _kinds(f)


def test_reductions_share_a_kernel_only_when_independent():
    """Two sums over one shape and axis share one kernel; one that reads the other's result does not."""
    import importlib

    fz = importlib.import_module("xpnet.compile.fusion")
    meta = {0: ((4, 3), "float32"), 1: ((3,), "float32"), 2: ((3,), "float32"), 3: ((4, 3), "float32"),
            4: ((3,), "float32")}
    r1 = fz.Reduction("sum", [], 0, [0], [], (0,), False, 1, meta)
    r2 = fz.Reduction("sum", [], 3, [3], [], (0,), False, 2, meta)
    out = fz._pair_reductions([("plain", None, r1), ("plain", None, r2)], meta, set())
    assert len(out) == 1 and isinstance(out[0][2], fz.MultiReduction) and out[0][2].outs == [1, 2]
    # something between reads the first result: the second moves up to the first (its input exists there)
    between = Op("method", "__mul__", (Ref(1), Ref(1)), {}, (4,))
    out = fz._pair_reductions([("plain", None, r1), between, ("plain", None, r2)], meta, set())
    assert len(out) == 2 and isinstance(out[0][2], fz.MultiReduction) and out[1] is between
    # the second reads what is computed from the first: they stay apart
    dep = Op("method", "__mul__", (Ref(1), Ref(0)), {}, (3,))
    out = fz._pair_reductions([("plain", None, r1), dep, ("plain", None, r2)], meta, set())
    assert len(out) == 3
    # another axis: apart
    r3 = fz.Reduction("sum", [], 3, [3], [], None, False, 4, meta | {4: ((), "float32")})
    assert len(fz._pair_reductions([("plain", None, r1), ("plain", None, r3)], meta, set())) == 2
