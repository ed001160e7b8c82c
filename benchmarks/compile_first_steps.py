# purity: host -- benchmark driver: host data and timers
"""Wall time of the first training steps of a compiled step in a fresh process: the time until the
first *replayed* step has returned ("replay-ready") and the first ``STEPS`` steps in all, per workload.

Usage: ``python benchmarks/compile_first_steps.py W1 [STEPS] [sync]`` (one workload per process, so that
numba's in-process kernel cache does not carry over; set ``XPNET_CACHE`` to a fresh directory for
a cold on-disk cache, run it twice for a warm one; ``sync`` builds the fused kernels at the trace:
``compile_background=False``). Prints one markdown row:
workload | replay-ready s | first STEPS steps s | s until the first fused replay (at which step; the
steps go on after STEPS until then) | kernels compiled | kernels loaded from the disk cache.
"""
import sys
import time

t_import = time.perf_counter()
import numpy as np  # noqa: E402

import xpnet as xn  # noqa: E402
from xpnet import backend as B  # noqa: E402
from xpnet.bench import runner  # noqa: E402
from xpnet.bench.workloads import WORKLOADS, build_xpnet  # noqa: E402

name = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
if len(sys.argv) > 3 and sys.argv[3] == "sync":
    xn.set_config(compile_background=False)
wl = WORKLOADS[name]
rng = np.random.default_rng(0)
rows = wl.batch_size * steps
X = rng.standard_normal((rows, 128), dtype=np.float32)
y = rng.integers(0, 10, rows).astype(np.int64)
with B.use_backend("numpy"):
    B.manual_seed(0)
    w = [B.to_numpy(p.data).copy() for p in build_xpnet(wl.layers).parameters()]
impl = runner.XpnetCompiledImpl(wl, w, "numpy", X, y)
step, bs = impl.step, impl.bs
ready = fused_at = None
t0 = time.perf_counter()
with B.use_backend("numpy"):
    impl.model.train()
    for i in range(steps):
        step(impl.X[i * bs:(i + 1) * bs, ...], impl.y[i * bs:(i + 1) * bs])
        if ready is None and step.stats["replays"] >= 1:
            ready = time.perf_counter() - t0
        if fused_at is None and step.stats["replays"] > step.stats.get("unfused_replays", 0):
            fused_at = i
total = time.perf_counter() - t0
with B.use_backend("numpy"):  # then on (same batches again) until the fused plan runs, 60 s at most
    i = 0
    while fused_at is None and time.perf_counter() - t0 < 60:
        step(impl.X[(i % steps) * bs:(i % steps + 1) * bs, ...], impl.y[(i % steps) * bs:(i % steps + 1) * bs])
        i += 1
        if step.stats["replays"] > step.stats.get("unfused_replays", 0):
            fused_at = steps + i - 1
fused_s = time.perf_counter() - t0
st = step.stats
from xpnet.compile import fusion_numba as fnb  # noqa: E402

ks = fnb.kernel_stats() if hasattr(fnb, "kernel_stats") else {}
print(f"| {name} | {ready:.2f} | {total:.2f} | {fused_s:.2f} (step {fused_at}) | "
      f"{ks.get('compiled', '-')} | {ks.get('loaded', '-')} |", flush=True)
