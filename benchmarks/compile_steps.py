# purity: host -- benchmark driver: host data and timers
"""Per-step training time and inference time of xpnet eager, xpnet compiled (``xn.compile``), PyTorch
eager and the hand-written NumPy reference, over many short interleaved blocks
(:func:`xpnet.bench.steptime.host_step_times`), which a shared, loaded machine disturbs far less than a
median of long epochs.

Usage: ``python benchmarks/compile_steps.py W1,W2,W3 BLOCKS STEPS [nofuse]`` (e.g. ``W1,W2,W3 15 10``,
``W4 5 4``); ``nofuse`` replays the compiled step unfused (``compile_fusion=False``) for comparison.
Prints markdown rows: workload | impl | µs per training step, median (min) | ÷ ref | ÷ torch | inference ms
(``STEPS`` batches' rows in one pass), median (min) | ÷ torch; ratios of the minima.
"""
import sys

import xpnet as xn
from xpnet.bench.steptime import host_step_times
from xpnet.bench.workloads import WORKLOADS

names = sys.argv[1].split(",")
if len(sys.argv) > 4 and sys.argv[4] == "nofuse":
    xn.set_config(compile_fusion=False)
blocks, steps = int(sys.argv[2]), int(sys.argv[3])
for name in names:
    t = host_step_times(WORKLOADS[name], blocks=blocks, steps=steps)
    ref, tor = t["numpy-handwritten"], t["torch-cpu"]
    for k, d in t.items():
        tr, inf = d["train_us"], d["infer_ms"]
        print(f"| {name} | {k} | {tr['median']:.0f} ({tr['min']:.0f}) | {tr['min'] / ref['train_us']['min']:.2f} | "
              f"{tr['min'] / tor['train_us']['min']:.2f} | {inf['median']:.2f} ({inf['min']:.2f}) | "
              f"{inf['min'] / tor['infer_ms']['min']:.2f} |", flush=True)
