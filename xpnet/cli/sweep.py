"""``xpnet sweep FILE.toml``: run an experiment file (grid, vary, steps or variants over seeds)."""
from __future__ import annotations

import sys


def add_arguments(ap) -> None:
    ap.add_argument("file", help="experiment TOML file (see configs/experiments/)")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="run N local processes at once (BLAS threads per worker = cores // N)")
    where.add_argument("--dask", action="store_true", help="run on a new Dask LocalCluster (pip install 'xpnet[dask]'); "
                                                           "--dask-workers sets its size")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster")
    ap.add_argument("--dask-workers", type=int, help="worker processes of the --dask LocalCluster (default: cores)")
    ap.add_argument("--out", help="experiment folder (default ./experiments/<name>)")
    ap.add_argument("--retry-failed", action="store_true", help="re-run failed runs (finished runs are always skipped)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar (one status line per run still)")
    ap.add_argument("--quiet", action="store_true", help="print nothing but errors")


def run(args, argv=None) -> int:
    from ..experiments.runner import command_line, run as run_experiment

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers: expected a positive number of processes, got {args.workers}")
    cmd = command_line(argv if argv is not None else sys.argv[1:])
    try:
        res = run_experiment(args.file, args.out, workers=args.dask_workers if args.dask else args.workers,
                             dask=args.dask, scheduler=args.scheduler, retry_failed=args.retry_failed,
                             progress=not args.no_progress, quiet=args.quiet, command=cmd)
    except KeyboardInterrupt:
        return 130
    return 1 if res.failed and res.failed == len(res.rows) else 0
