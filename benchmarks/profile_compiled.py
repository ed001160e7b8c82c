# purity: host -- benchmark driver: host data and timers
"""Where a compiled step's time goes: each line of ``xn.compile``'s replay function timed on its own.

Usage: ``python benchmarks/profile_compiled.py W1 [train|infer] [REPEATS] [ROWS]`` (defaults: train,
200 replays, the workload's batch for train and 10,000 rows for infer). Traces the workload's training step
(or ``xn.compile(model)`` in eval mode), then re-runs the generated replay source with a clock read around
every statement (``time.perf_counter``; NumPy is synchronous, so a line's time is its array work) and prints
the lines by total time, with the share of the whole replay. The clock reads add ~0.1 µs per line.
"""
import sys
import time

import numpy as np

import xpnet as xn
from xpnet import backend as B
from xpnet import nn
from xpnet.bench.workloads import WORKLOADS, build_xpnet, xpnet_optimizer


def timed_replay(plan):
    """A copy of ``plan.fn`` that adds each top-level statement's time to ``totals[line]``."""
    lines = plan.source.split("\n")
    out, keys = [], []
    body = False
    for ln in lines:
        if ln.startswith("    except"):
            body = "except"
        elif body == "except" and not ln.startswith("        "):
            body = True
        if body is True and ln.startswith("    ") and not ln.startswith("     ") and not ln.startswith("    return"):
            keys.append(ln.strip())
            k = len(keys) - 1
            out += ["    _t0 = _pc()", ln, f"    _T[{k}] += _pc() - _t0"]
        else:
            out.append(ln)
    g = dict(plan.fn.__globals__)
    totals = [0.0] * len(keys)
    g["_pc"], g["_T"] = time.perf_counter, totals
    exec(compile("\n".join(out), "<timed replay>", "exec"), g)
    return g["replay"], keys, totals


def main(argv):
    name = argv[0]
    mode = argv[1] if len(argv) > 1 else "train"
    repeats = int(argv[2]) if len(argv) > 2 else 200
    wl = WORKLOADS[name]
    rows = int(argv[3]) if len(argv) > 3 else (wl.batch_size if mode == "train" else 10_000)
    rng = np.random.default_rng(0)
    X = xn.asarray(rng.standard_normal((rows, 128), dtype=np.float32))
    y = xn.asarray(rng.integers(0, 10, rows).astype(np.int64))
    with B.use_backend("numpy"):
        B.manual_seed(0)
        model = build_xpnet(wl.layers)
        opt = xpnet_optimizer(model.parameters(), wl.optimizer)
    if mode == "train":
        def step(xb, yb):
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

        f, args = xn.compile(step, state=(model, opt)), (X, y)
        model.train()
    else:
        f, args = xn.compile(model), (X,)
        model.eval()
    with xn.no_grad() if mode != "train" else _null():
        for _ in range(5):  # eager, two traces, then replays
            f(*args)
        f.wait()  # the fused kernels, built in the background
        f(*args)
        (entry,) = [e for e in f.entries.values() if e.plan is not None]
        fn, keys, totals = timed_replay(entry.plan)
        roots = [*f._roots, [list(args), {}]]
        for _ in range(max(1, repeats // 10)):  # warm the timed copy
            fn(roots)
        totals[:] = [0.0] * len(totals)
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn(roots)
        wall = (time.perf_counter() - t0) / repeats
    per = [t / repeats for t in totals]
    print(f"{name} {mode}, rows {rows}: {wall * 1e6:.0f} µs per replay (timed copy), "
          f"{sum(per) * 1e6:.0f} µs in its {len(keys)} statements")
    print("| µs | share | statement |\n|---|---|---|")
    for k, t in sorted(zip(keys, per), key=lambda kt: -kt[1])[:25]:
        print(f"| {t * 1e6:.1f} | {t / wall:.0%} | `{k[:110]}` |")


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main(sys.argv[1:])
