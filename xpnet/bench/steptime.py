# purity: host -- benchmark driver: host data and timers
"""Host time per training step and per inference pass, from many short interleaved blocks.

Each block runs ``steps`` training steps (one batch each) and one inference pass over the same rows, for
every implementation in turn (the order rotates between blocks): xpnet eager, xpnet compiled
(``xn.compile``), PyTorch eager and the hand-written NumPy reference, from the same initial weights. The
statistics are per step (training) and per pass (inference): median and minimum over blocks. The minimum is
the figure a busy shared machine disturbs least; the median says how steady it was.

``xpnet bench --count-ops`` prints it beside the device-operation counts (the issue's "host time per step
on this CPU"); ``benchmarks/compile_steps.py`` prints it as a table.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from .. import backend as B


def _blocks(impls, blocks, steps):
    rows = {i.name: {"train": [], "infer": []} for i in impls}
    perm = np.arange(impls[0].X.shape[0])
    for i in impls:  # warm-up: eager first call, two traces, the first replays (numba compiles here)
        i.train_epoch(perm)
        i.infer()
        getattr(i, "finish_warm_up", lambda p: None)(perm)
    for r in range(blocks):
        k = r % len(impls)
        for i in impls[k:] + impls[:k]:
            t0 = time.perf_counter()
            i.train_epoch(perm)
            t1 = time.perf_counter()
            i.infer()
            t2 = time.perf_counter()
            rows[i.name]["train"].append((t1 - t0) / steps)
            rows[i.name]["infer"].append(t2 - t1)
    return rows


def host_step_times(wl, blocks: int = 10, steps: int = 10, backend: str = "numpy", with_torch: bool = True,
                    with_ref: bool = True, seed: int = 0) -> dict:
    """``{impl: {"train_us": {"median", "min"}, "infer_ms": {"median", "min"}}}`` for workload ``wl``:
    µs per training step of batch ``wl.batch_size`` and ms per inference pass over ``steps`` batches'
    rows, over ``blocks`` interleaved blocks of ``steps`` steps."""
    from . import runner
    from .workloads import build_xpnet

    if blocks < 1 or steps < 1:
        raise ValueError(f"blocks and steps: expected ≥ 1, got blocks={blocks}, steps={steps}")
    rows = wl.batch_size * steps
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 128), dtype=np.float32)
    y = rng.integers(0, 10, rows).astype(np.int64)
    with B.use_backend("numpy"):
        B.manual_seed(seed)
        weights = [B.to_numpy(p.data).copy() for p in build_xpnet(wl.layers).parameters()]
    impls = [runner.XpnetImpl(wl, weights, backend, X, y), runner.XpnetCompiledImpl(wl, weights, backend, X, y)]
    if with_torch:
        from . import torch_peer

        torch_peer.set_threads(runner.blas_threads())
        impls.append(runner.TorchImpl(wl, weights, "cpu", X, y))
    if with_ref:
        impls.append(runner.NumpyRefImpl(wl, weights, X, y, seed))
    out = {}
    for name, d in _blocks(impls, blocks, steps).items():
        out[name] = {"train_us": {"median": statistics.median(d["train"]) * 1e6, "min": min(d["train"]) * 1e6},
                     "infer_ms": {"median": statistics.median(d["infer"]) * 1e3, "min": min(d["infer"]) * 1e3}}
    return out


def markdown(times: dict, command: str) -> str:
    """A table per workload: µs per training step and ms per inference pass, median (min), and the
    ratios of the medians to PyTorch eager where it ran."""
    lines = ["## Host time per step on this CPU", "",
             f"Command: `{command}`. Interleaved blocks (`xpnet/bench/steptime.py`): every implementation runs a "
             "few training steps and one inference pass over the same rows in turn; median (minimum) over the "
             "blocks. Ratios are of the medians, to PyTorch eager in the same run.", "",
             "| workload | impl | µs / training step | ÷ torch | inference ms | ÷ torch |", "|---|---|---|---|---|---|"]
    for wl, impls in times.items():
        tor = impls.get("torch-cpu")
        for name, t in impls.items():
            tr, inf = t["train_us"], t["infer_ms"]
            rt = f"{tr['median'] / tor['train_us']['median']:.2f}" if tor else "–"
            ri = f"{inf['median'] / tor['infer_ms']['median']:.2f}" if tor else "–"
            lines.append(f"| {wl} | {name} | {tr['median']:.0f} ({tr['min']:.0f}) | {rt} | "
                         f"{inf['median']:.2f} ({inf['min']:.2f}) | {ri} |")
    return "\n".join(lines) + "\n"
