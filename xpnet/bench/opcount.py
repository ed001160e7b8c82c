# purity: host -- benchmark driver: counts device operations on the CuPy stand-in and with torch.profiler
"""Device operations per training step: xpnet's cupy path beside PyTorch eager.

A *device operation* is one call that launches at least one kernel (or copies memory) on the GPU;
views (slices, reshapes of contiguous data, transposes) are not. At batch 32–128 a GPU step is
launch-bound, so this count predicts GPU time more steadily than any CPU timing can.

- xpnet: counted on the CuPy stand-in (:mod:`xpnet.bench.cupy_standin`), which runs xpnet's real
  cupy code path in host memory and counts each allocation-producing call, in-place update and
  kernel launch; split into forward (model and loss), backward (``zero_grad`` + ``backward``) and
  optimiser (``step``).
- PyTorch: ``torch.profiler`` on the same workload (CPU), optimisers with ``foreach=True`` (the
  CUDA default); each top-most ``aten::`` operator counts once, except views and allocations
  (:data:`TORCH_NO_KERNEL`) and dispatch-only wrappers (:data:`TORCH_WRAPPERS`), split by
  ``record_function`` regions.

The steps counted are steady-state: two warm-up steps first (flat optimiser buffers, caches).
"""
from __future__ import annotations

import numpy as np

from .. import backend as B
from .. import nn
from .workloads import WORKLOADS, build_xpnet, xpnet_optimizer

PHASES = ("forward", "backward", "optimizer")
TORCH_NO_KERNEL = {
    "aten::view", "aten::_unsafe_view", "aten::reshape", "aten::_reshape_alias", "aten::t", "aten::transpose",
    "aten::permute", "aten::expand", "aten::as_strided", "aten::slice", "aten::select", "aten::unsqueeze",
    "aten::squeeze", "aten::detach", "aten::detach_", "aten::alias", "aten::empty", "aten::empty_like",
    "aten::empty_strided", "aten::resize_", "aten::lift_fresh", "aten::_has_compatible_shallow_copy_type",
    "aten::is_nonzero", "aten::result_type", "aten::size", "aten::stride", "aten::numel", "aten::dim",
    "aten::to", "aten::_to_copy_noop", "aten::set_", "aten::unbind", "aten::split", "aten::chunk", "aten::narrow",
    "aten::expand_as", "aten::view_as", "aten::_local_scalar_dense", "aten::resolve_conj", "aten::resolve_neg", "aten::item",
}

TORCH_WRAPPERS = {
    "aten::linear", "aten::matmul", "aten::batch_norm", "aten::_batch_norm_impl_index", "aten::cross_entropy_loss",
    "aten::nll_loss", "aten::nll_loss_nd", "aten::log_softmax", "aten::dropout", "aten::zeros", "aten::zeros_like",
    "aten::ones_like", "aten::full", "aten::full_like", "aten::_to_copy", "aten::clone", "aten::contiguous",
}


def _data(wl, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((wl.batch_size, 128), dtype=np.float32)
    y = rng.integers(0, 10, wl.batch_size).astype(np.int64)
    return X, y


def standin_backend():
    """The cupy backend on the stand-in (installed into this process if it is not yet)."""
    from . import cupy_standin

    if not cupy_standin.installed():
        cupy_standin.install()
        from ..backend import registry

        registry.forget("cupy")
    return B.load("cupy")


def _setup(wl, seed):
    """Workload ``wl``'s model (train mode), optimiser and one batch on the active backend, seeded."""
    X, y = _data(wl, seed)
    B.manual_seed(seed)
    model = build_xpnet(wl.layers)
    opt = xpnet_optimizer(model.parameters(), wl.optimizer)
    model.train()
    return model, opt, B.asarray(X), B.asarray(y)


def count_xpnet(wl, steps=3, seed=0) -> dict:
    """Device operations per training step of workload ``wl`` on xpnet's cupy path (the stand-in):
    ``{"forward": n, "backward": n, "optimizer": n, "total": n, "by_name": {...}}``; every counted step
    must give the same numbers (else ValueError)."""
    from .cupy_standin import COUNTERS

    with B.use_backend(standin_backend()):
        model, opt, Xd, yd = _setup(wl, seed)
        results = []
        for i in range(2 + steps):
            COUNTERS.reset()
            loss = nn.functional.cross_entropy(model(Xd), yd)
            fwd = COUNTERS.n_ops
            opt.zero_grad()
            loss.backward()
            bwd = COUNTERS.n_ops - fwd
            opt.step()
            total = COUNTERS.n_ops
            if i >= 2:
                results.append({"forward": fwd, "backward": bwd, "optimizer": total - fwd - bwd, "total": total,
                                "by_name": dict(COUNTERS.ops), "host_reads": COUNTERS.n_reads})
    if any({k: r[k] for k in PHASES} != {k: results[0][k] for k in PHASES} for r in results):
        raise ValueError(f"{wl.name}: device operation counts differ between steady-state steps: {results}")
    return results[0]


def count_compiled(wl, steps=3, seed=0, fusion="all") -> dict:
    """Device operations per training step of ``xn.compile``'s replay on the cupy path (the stand-in
    counts the replayed plan's calls): ``{"total": n, "plan_ops": n, "views": n, "by_name": {...},
    "host_reads": n, "fused_kernels": n, "fused_ops": n}``. ``plan_ops`` counts the plan's operations
    that are not views; ``fused_kernels`` the generated ElementwiseKernels and ReductionKernels among
    them (``fused_reductions`` the latter) and ``fused_ops`` the array operations they replace. ``fusion``: the ``compile_fusion`` option; ``"all"`` (default)
    fuses what CuPy on a GPU fuses (``exp``/``log`` too: on a GPU the same device math as CuPy's
    ufuncs; the stand-in's host kernels may round them one ulp apart, which a count ignores)."""
    from ..options import config_context

    with config_context(compile_fusion=fusion):
        return _count_compiled(wl, steps, seed)


def _count_compiled(wl, steps, seed):
    from ..compile import compile as xcompile
    from ..compile.plan import VIEW_OPS
    from .cupy_standin import COUNTERS

    with B.use_backend(standin_backend()):
        model, opt, Xd, yd = _setup(wl, seed)

        def step(xb, yb):
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.data

        f = xcompile(step, state=(model, opt))
        results = []
        for i in range(3 + steps):
            COUNTERS.reset()
            f(Xd, yd)
            if i >= 3:
                results.append({"total": COUNTERS.n_ops, "by_name": dict(COUNTERS.ops), "host_reads": COUNTERS.n_reads})
    if f.fallback is not None or f.stats["replays"] != steps:
        raise ValueError(f"{wl.name}: the compiled step did not replay ({f.fallback or f.stats})")
    if any(r["total"] != results[0]["total"] for r in results):
        raise ValueError(f"{wl.name}: compiled operation counts differ between replays: {results}")
    plan = f.plans[-1]
    views = sum(op.name() in VIEW_OPS for op in plan.ops)
    out = dict(results[0])
    out["plan_ops"], out["views"] = len(plan.ops) - views, views
    fused = [op for op in plan.ops if hasattr(op.fn, "ops")
             and type(op.fn).__name__ in ("CupyGroupKernel", "CupySideKernel", "CupyReductionKernel")]
    out["fused_kernels"], out["fused_ops"] = len(fused), sum(op.fn.ops for op in fused)
    out["fused_reductions"] = sum(type(op.fn).__name__ == "CupyReductionKernel" for op in fused)
    return out


def count_torch(wl, steps=3, seed=0) -> dict:
    """The same counts for PyTorch eager (``foreach`` optimisers) from ``torch.profiler``."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from . import torch_peer

    X, y = _data(wl, seed)
    with B.use_backend("numpy"):
        B.manual_seed(seed)
        weights = [B.to_numpy(p.data).copy() for p in build_xpnet(wl.layers).parameters()]
    model = torch_peer.build(wl.layers)
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.as_tensor(w))
    cfg = wl.optimizer
    if cfg["name"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                              weight_decay=cfg["weight_decay"], foreach=True)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"], foreach=True)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    F = torch.nn.functional
    model.train()

    def step():
        with record_function("xpnet::forward"):
            loss = F.cross_entropy(model(Xt), yt)
        with record_function("xpnet::backward"):
            opt.zero_grad()
            loss.backward()
        with record_function("xpnet::optimizer"):
            opt.step()

    for _ in range(2):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    counts = {p: 0 for p in PHASES}
    names: dict = {}
    for ev in prof.events():
        if not _torch_counts(ev):
            continue
        phase, parent = None, ev.cpu_parent
        while parent is not None:
            if parent.name.startswith("xpnet::"):
                phase = parent.name.split("::")[1]
            parent = parent.cpu_parent
        if phase is None:  # autograd engine threads: backward work not under the region
            phase = "backward"
        counts[phase] += 1
        key = f"{phase}:{ev.name}"
        names[key] = names.get(key, 0) + 1
    out = {p: counts[p] / steps for p in PHASES}
    out["total"] = sum(out.values())
    out["by_name"] = {k: v / steps for k, v in sorted(names.items())}
    return out


def _kernel_op(ev) -> bool:
    return ev.name.startswith("aten::") and ev.name not in TORCH_NO_KERNEL


def _torch_counts(ev) -> bool:
    """The top-most kernel operator of a call: a non-view ``aten::`` operator none of whose ancestors is
    one (composite wrappers such as ``aten::linear`` that only dispatch, :data:`TORCH_WRAPPERS`, do not
    count themselves). ``aten::addmm`` counts once however the CPU implements it; ``aten::_foreach_*``
    counts once (on CUDA one multi-tensor launch)."""
    if not _kernel_op(ev) or ev.name in TORCH_WRAPPERS:
        return False
    parent = ev.cpu_parent
    while parent is not None:
        if _kernel_op(parent) and parent.name not in TORCH_WRAPPERS:
            return False
        parent = parent.cpu_parent
    return True


def count_all(names=("W1", "W2", "W3", "W4"), with_torch=True) -> dict:
    out = {}
    for n in names:
        wl = WORKLOADS[n]
        out[n] = {"workload": wl.to_json(), "xpnet-cupy": count_xpnet(wl), "xpnet-cupy-compiled": count_compiled(wl)}
        if with_torch:
            out[n]["torch-eager-foreach"] = count_torch(wl)
    return out


def markdown(counts, command="xpnet bench --count-ops") -> str:
    lines = ["# Device operations per training step", "",
             f"Command: `{command}`. A device operation launches at least one kernel (or copies memory); views "
             "are not counted. xpnet: its cupy code path run on the CuPy stand-in "
             "(`xpnet/bench/cupy_standin`, host memory, every device call counted). PyTorch: eager, `foreach` "
             "optimisers (the CUDA default), from `torch.profiler` on the CPU: each top-most `aten::` operator that "
             "is not a view, an allocation or a dispatch-only wrapper counts once (`aten::_foreach_*` once, as one "
             "multi-tensor launch on CUDA). CPU dispatch differs a little from CUDA's (dropout is two operators "
             "here, one fused kernel there), so the PyTorch column approximates its CUDA launch count. Steady "
             "state (after two warm-up steps), one step of one batch.", "",
             "xpnet compiled (`xn.compile`): the replayed plan, counted the same way on the stand-in (with "
             "`compile_fusion=\"all\"`, what CuPy on a GPU runs; in brackets: the generated kernels, how many of "
             "them are reductions, the operations they replace, and the host reads per step). The CuPy target "
             "(`xpnet/compile/fusion.py`, sources in `fusion_cupy.py`): every run of elementwise operations is one "
             "generated `cupy.ElementwiseKernel`; the hand-written BatchNorm/GELU kernels "
             "(`xpnet/backend/fast_cupy.py`) enter the runs as their elementwise nodes (erf included), in their "
             "own order; a bias add after a matrix product is an ordinary elementwise op (renamed, not in place); "
             "each `sum`/`mean`/`max` whose input an elementwise group computes is one `cupy.ReductionKernel` with "
             "that group as its prologue (`mean`'s division its epilogue), and two or three reductions over one "
             "iteration shape and the same axes (BatchNorm's Σg and Σg·x̂ with the next layer's bias gradient, the "
             "loss and its label count, log-softmax's max and the labels' row counts) share one kernel; a group whose results only later groups and reductions "
             "read is recomputed inside them instead of being stored; a small group (BatchNorm's running "
             "statistics over the channels, the loss scalar) runs in the first threads of the next bigger "
             "group's kernel; the flat optimiser's kernel reads each gradient where it lies (no `concatenate`). "
             "The dropout mask's compare, cast and scale fuse with their users; its uniform draw stays a "
             "`random` launch. What remains, by name below: the matrix products (`matmul`: cuBLAS), the "
             "uniform draws (`random`: the generator's own kernel, drawn as eager draws them), the plain `sum`s "
             "of bias gradients whose input also feeds a matrix product (stored anyway; no other reduction over "
             "that shape and axis to share a kernel with), the reductions that depend on one another "
             "(BatchNorm's mean then variance, log-softmax's max then sum: one pass each), and the generated "
             "elementwise kernels between them (BatchNorm forward + activation + dropout, the logits' "
             "gradient, BatchNorm's dx, the optimiser).", "",
             "| workload | batch | xpnet cupy: forward | backward | optimiser | **total** | xpnet compiled | "
             "PyTorch eager: forward | backward | optimiser | **total** | xpnet ÷ PyTorch | compiled ÷ PyTorch |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, r in counts.items():
        x, t = r["xpnet-cupy"], r.get("torch-eager-foreach")
        c = r.get("xpnet-cupy-compiled")
        ctot = (f"**{c['total']}** ({c.get('fused_kernels', 0)} fused, {c.get('fused_reductions', 0)} of them "
                f"reductions ← {c.get('fused_ops', 0)} ops; "
                f"{c['host_reads']} host reads)") if c else "–"
        tcols = (f"{t['forward']:g} | {t['backward']:g} | {t['optimizer']:g} | **{t['total']:g}** | "
                 f"{x['total'] / t['total']:.2f} | " + (f"{c['total'] / t['total']:.2f}" if c else "–")) if t \
            else "– | – | – | – | – | –"
        lines.append(f"| {n} | {r['workload']['batch_size']} | {x['forward']} | {x['backward']} | {x['optimizer']} "
                     f"| **{x['total']}** | {ctot} | {tcols} |")
    lines += ["", "xpnet operations by name (one step, eager):", ""]
    for n, r in counts.items():
        by = sorted(r["xpnet-cupy"]["by_name"].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append(f"- **{n}**: " + ", ".join(f"{k} {v}" for k, v in by))
    lines += ["", "xpnet compiled operations by name (one step; `kernel:xpnet_fused_*` are the generated "
              "elementwise kernels, summed as `fused`; `kernel:xpnet_reduce_<kinds>_*` the generated reductions, "
              "summed as `fused <kinds>`, e.g. `sum+sum` for two sums computed by one kernel):", ""]
    for n, r in counts.items():
        c = r.get("xpnet-cupy-compiled")
        if not c:
            continue
        by: dict = {}
        for k, v in c["by_name"].items():
            if k.startswith("kernel:xpnet_fused_"):
                k = "fused"
            elif k.startswith("kernel:xpnet_reduce_"):
                k = "fused " + "+".join(k[len("kernel:xpnet_reduce_"):].split("_")[:-1])
            by[k] = by.get(k, 0) + v
        lines.append(f"- **{n}**: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))))
    lines += ["", "Workloads:", ""] + [f"- **{k}**: {v['workload']['description']} (batch {v['workload']['batch_size']})"
                                       for k, v in counts.items()]
    return "\n".join(lines) + "\n"
