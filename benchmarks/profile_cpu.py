"""Where one training epoch spends its time: cProfile of xpnet on a workload, beside the hand-written
NumPy reference, and a per-phase split (forward, loss, backward, optimiser step).

    python benchmarks/profile_cpu.py W1 [--rows 20000]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import numpy as np

import xpnet as xn
from xpnet import nn
from xpnet.bench.runner import NumpyRefImpl, XpnetImpl
from xpnet.bench.workloads import WORKLOADS, build_xpnet, xpnet_optimizer


def phases(wl, X, y, reps=5):
    """Microseconds per step in each phase, best of ``reps`` passes over the data."""
    m = build_xpnet(wl.layers)
    opt = xpnet_optimizer(m.parameters(), wl.optimizer)
    Xb, yb, bs, pc = xn.asarray(X), xn.asarray(y), wl.batch_size, time.perf_counter
    best = None
    for _ in range(reps):
        t = [0.0] * 4
        for i in range(0, len(X), bs):
            t0 = pc()
            out = m(Xb[i:i + bs, ...])
            t1 = pc()
            loss = nn.functional.cross_entropy(out, yb[i:i + bs])
            opt.zero_grad()
            t2 = pc()
            loss.backward()
            t3 = pc()
            opt.step()
            t4 = pc()
            for k, (a, b) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4))):
                t[k] += b - a
        best = t if best is None or sum(t) < sum(best) else best
    steps = -(-len(X) // bs)
    return {k: v / steps * 1e6 for k, v in zip(("forward", "loss", "backward", "step"), best)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=sorted(WORKLOADS))
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--top", type=int, default=18)
    args = ap.parse_args()
    wl = WORKLOADS[args.workload]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, 128), dtype=np.float32)
    y = rng.integers(0, 10, args.rows)
    weights = [xn.to_numpy(p.data).copy() for p in build_xpnet(wl.layers).parameters()]
    ours, ref = XpnetImpl(wl, weights, "numpy", X, y), NumpyRefImpl(wl, weights, X, y, 0)
    perm = rng.permutation(args.rows)
    for impl in (ours, ref):
        impl.train_epoch(perm)
    for name, impl in (("xpnet", ours), ("numpy-handwritten", ref)):
        prof = cProfile.Profile()
        prof.runcall(impl.train_epoch, perm)
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
        print(f"## {name}: cProfile of one epoch ({args.rows} rows), by own time\n")
        print("```\n" + "\n".join(l for l in buf.getvalue().splitlines() if l.strip())[:6000] + "\n```\n")
    print("## xpnet per-step phases (µs, best of 5 passes)\n")
    print(" | ".join(f"{k} {v:.0f}" for k, v in phases(wl, X, y).items()))


if __name__ == "__main__":
    main()
