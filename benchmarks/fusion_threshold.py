# purity: host -- benchmark driver: host arrays and timers
"""Where a fused numba kernel should go parallel (``xpnet.compile.fusion_numba.PARALLEL_MIN``).

Times one generated kernel, the flat SGD update ``m = μ·m + (g + wd·p); p -= lr·m`` (5 operations, two
in-place targets), serial (``range``) against parallel (``prange``) and against the five NumPy
operations it replaces, for sizes 2^10…2^22 (minimum of many repeats).
Usage: ``python benchmarks/fusion_threshold.py [REPEATS]``. Prints markdown rows.
"""
import sys
import time

import numpy as np

from xpnet.compile.fusion import Group, Node
from xpnet.compile.fusion_numba import compile_source, source_of

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def group(n):
    meta = {0: ((n,), "float32"), 1: ((n,), "float32"), 2: ((n,), "float32"), 3: ((n,), "float32"),
            4: ((n,), "float32"), 5: ((n,), "float32")}
    nodes = [Node("multiply", [("num", 1e-4), ("var", 0)], 3, False, "float32"),   # wd·p
             Node("add", [("var", 1), ("var", 3)], 4, False, "float32"),           # g + wd·p
             Node("multiply", [("var", 2), ("num", 0.9)], 2, True, "float32"),     # m *= μ
             Node("add", [("var", 2), ("var", 4)], 2, True, "float32"),            # m += ...
             Node("multiply", [("num", 0.01), ("var", 2)], 5, False, "float32"),   # lr·m
             Node("subtract", [("var", 0), ("var", 5)], 0, True, "float32")]       # p -= lr·m
    return Group(nodes, [1], [], [], [2, 0], (n,), meta)


def best(f, reps):
    t = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - t0)
    return t


print("| elements | NumPy, 5 ops (µs) | fused serial (µs) | fused parallel (µs) | parallel ÷ serial |")
print("|---|---|---|---|---|")
for e in range(10, 23, 2):
    n = 1 << e
    rng = np.random.default_rng(0)
    p, g, m = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    g_ = group(n)
    ks = {}
    for par in (False, True):
        name, src = source_of(g_, par)
        ks[par] = compile_source(name, src, par)
        ks[par](g, m, p)

    def numpy_step():
        d = g + 1e-4 * p
        m.__imul__(0.9)
        m.__iadd__(d)
        p.__isub__(0.01 * m)

    r = max(5, reps // (1 + n // 65536))
    tn = best(numpy_step, r)
    ts = best(lambda: ks[False](g, m, p), r)
    tp = best(lambda: ks[True](g, m, p), r)
    print(f"| {n} | {tn * 1e6:.1f} | {ts * 1e6:.1f} | {tp * 1e6:.1f} | {tp / ts:.2f} |", flush=True)
