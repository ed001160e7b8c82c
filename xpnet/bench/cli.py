"""``xpnet bench``: argument parsing and the run loop with progress output."""
from __future__ import annotations

import pathlib
import shlex
import sys
import time

from .. import backend as B

QUICK = {"rows": 3000, "rounds": 2, "workloads": "W1,W2,W3"}
FULL = {"rows": 50_000, "rounds": 5, "workloads": "W1,W2,W3,W4"}


def add_arguments(ap) -> None:
    ap.add_argument("--backend", action="append", help="xpnet backend(s) to time (repeatable; default numpy)")
    ap.add_argument("--workloads", default=None, help="comma-separated subset of W1,W2,W3,W4 (default all; "
                                                     "--quick: W1,W2,W3)")
    ap.add_argument("--rows", type=int, default=None, help="rows per epoch (default 50,000; --quick: 3,000)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per implementation (default 5; --quick: 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="CI mode: smaller defaults (W1–W3, 3,000 rows, 2 rounds; "
                                                         "under a minute); --workloads/--rows/--rounds still apply")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    ap.add_argument("--no-reference", action="store_true", help="skip the hand-written NumPy reference")
    ap.add_argument("--no-compiled", action="store_true", help="skip the xn.compile column (xpnet-<backend>-compiled)")
    ap.add_argument("--torch-device", default=None, help="PyTorch device (default: cuda for cupy, else cpu)")
    ap.add_argument("--out", default="benchmarks/results", help="output folder (default benchmarks/results)")
    ap.add_argument("--name", default=None, help="file stem (default cpu / gpu-<name> / quick)")
    ap.add_argument("--count-ops", action="store_true",
                    help="count device operations per training step (xpnet's cupy path on the CuPy stand-in, "
                         "PyTorch eager from torch.profiler) instead of timing; writes <out>/ops.md and ops.json")
    ap.add_argument("--host-blocks", type=int, default=10,
                    help="with --count-ops: interleaved timing blocks for the host time per step of xpnet eager, "
                         "compiled and PyTorch on this CPU (default 10; 0 skips the timing)")


def run(args) -> int:
    from . import report, runner
    from .workloads import WORKLOADS

    if getattr(args, "count_ops", False):
        return _count_ops(args)
    backends = args.backend or ["numpy"]
    defaults = QUICK if args.quick else FULL
    pick = lambda name: getattr(args, name) if getattr(args, name) is not None else defaults[name]
    rows, rounds = pick("rows"), pick("rounds")
    names = [w.strip().upper() for w in pick("workloads").split(",") if w.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        raise ValueError(f"--workloads: unknown {unknown or pick('workloads')!r}; expected a comma-separated "
                         f"subset of {','.join(sorted(WORKLOADS))}")
    for name, value, low in (("--rows", rows, 2), ("--rounds", rounds, 1)):
        if value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {value}")
    for b in backends:
        B.load(b)  # clear error now if unavailable
    gpu = any(B.load(b).is_gpu for b in backends)
    torch_device = args.torch_device or ("cuda" if gpu else "cpu")
    with_torch = not args.no_torch
    if with_torch:
        try:
            from . import torch_peer

            if torch_device == "cpu":
                torch_peer.set_threads(runner.blas_threads())
        except ImportError:
            print("xpnet bench: PyTorch is not installed; timing without the peer (pip install torch)", file=sys.stderr)
            with_torch = False
    with_ref = not args.no_reference and not gpu
    log = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
    results = {}
    for name in names:
        wl = WORKLOADS[name]
        times, rss = runner.run_workload(wl, backends, rows, rounds, args.seed, torch_device, with_torch, with_ref, log,
                                         compiled=not getattr(args, "no_compiled", False))
        results[name] = {"workload": wl.to_json(), "times": times, "rss": rss}
    machine = runner.machine_info(torch_device)
    stem_name = args.name or ("quick" if args.quick else (f"gpu-{machine.get('gpu', 'unknown').replace(' ', '-')}" if gpu else "cpu"))
    meta = {"command": "xpnet bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]), "rows": rows, "rounds": rounds,
            "backends": backends, "torch_device": torch_device, "machine": machine, "title": stem_name,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    out = pathlib.Path(args.out)
    paths = report.write(results, meta, out / stem_name)
    print(report.markdown(results, meta))
    print("wrote " + ", ".join(map(str, paths)))
    return 0


def _count_ops(args) -> int:
    import json

    from ..io import write_atomic
    from . import opcount
    from .workloads import WORKLOADS

    names = [w.strip().upper() for w in (args.workloads or "W1,W2,W3,W4").split(",") if w.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise ValueError(f"--workloads: unknown {unknown}; expected some of {sorted(WORKLOADS)}")
    if args.host_blocks < 0:
        raise ValueError(f"--host-blocks: expected 0 (no timing) or a positive count, got {args.host_blocks}")
    counts = opcount.count_all(names, with_torch=not args.no_torch)
    command = "xpnet bench " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    md = opcount.markdown(counts, command)
    if args.host_blocks:
        from . import steptime

        times = {}
        for n in names:
            wl = WORKLOADS[n]
            print(f"[xpnet bench] {n}: host time per step, {args.host_blocks} blocks", file=sys.stderr, flush=True)
            times[n] = steptime.host_step_times(wl, blocks=args.host_blocks, steps=max(2, 640 // wl.batch_size),
                                                with_torch=not args.no_torch, with_ref=False)
            counts[n]["host_time"] = times[n]
        md += "\n" + steptime.markdown(times, command)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / (args.name or "ops")
    write_atomic(f"{stem}.md", md)
    write_atomic(f"{stem}.json", json.dumps(counts, indent=1))
    print(md)
    print(f"wrote {stem}.md, {stem}.json")
    return 0
