# purity: host -- benchmark driver: host data and timers
"""Per-step training time and inference time of xpnet eager, xpnet compiled (``xn.compile``), PyTorch
eager and the hand-written NumPy reference: the minimum over many short interleaved blocks, which a
shared, loaded machine disturbs far less than a median of long epochs.

Usage: ``python benchmarks/compile_steps.py W1,W2,W3 BLOCKS STEPS [nofuse]`` (e.g. ``W1,W2,W3 15 10``,
``W4 5 4``); ``nofuse`` replays the compiled step unfused (``compile_fusion=False``) for comparison.
Prints markdown rows: workload | impl | µs per training step | ÷ ref | ÷ torch | inference ms
(``STEPS`` batches' rows in one pass) | ÷ torch.
"""
import sys
import time

import numpy as np

from xpnet import backend as B
from xpnet.bench import runner
from xpnet.bench.workloads import WORKLOADS, build_xpnet
names = sys.argv[1].split(",")
if len(sys.argv) > 4 and sys.argv[4] == "nofuse":
    import xpnet as xn

    xn.set_config(compile_fusion=False)
blocks, steps = int(sys.argv[2]), int(sys.argv[3])
for name in names:
    wl = WORKLOADS[name]
    rows = wl.batch_size * steps
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, 128), dtype=np.float32); y = rng.integers(0, 10, rows).astype(np.int64)
    with B.use_backend("numpy"):
        B.manual_seed(0)
        w = [B.to_numpy(p.data).copy() for p in build_xpnet(wl.layers).parameters()]
    impls = [runner.XpnetImpl(wl, w, "numpy", X, y), runner.XpnetCompiledImpl(wl, w, "numpy", X, y),
             runner.TorchImpl(wl, w, "cpu", X, y), runner.NumpyRefImpl(wl, w, X, y, 0)]
    from xpnet.bench import torch_peer
    torch_peer.set_threads(runner.blas_threads())
    Xi = rng.standard_normal((2000, 128), dtype=np.float32)
    for i in impls:
        i.train_epoch(np.arange(rows)); i.infer()
    best = {i.name: [1e9, 1e9] for i in impls}
    perm = np.arange(rows)
    for r in range(blocks):
        for i in impls[r % 4:] + impls[:r % 4]:
            t0 = time.perf_counter(); i.train_epoch(perm); t1 = time.perf_counter(); i.infer(); t2 = time.perf_counter()
            best[i.name][0] = min(best[i.name][0], (t1 - t0) / steps)
            best[i.name][1] = min(best[i.name][1], (t2 - t1))
    ref, tor = best["numpy-handwritten"], best["torch-cpu"]
    for k, (tr, inf) in best.items():
        print(f"| {name} | {k} | {tr*1e6:.0f} | {tr/ref[0]:.2f} | {tr/tor[0]:.2f} | {inf*1e3:.1f} | {inf/tor[1]:.2f} |", flush=True)
