"""``xpnet train``: command-line options → config overrides → :func:`xpnet.config.run_training`."""
from __future__ import annotations

import json
import pathlib
import sys

from ..config import apply_overrides, load_config, run_training
from ..config.run import new_run_dir

# command-line option → config key
OPTION_KEYS = {"dataset": "data.dataset", "backend": "train.backend", "model": "model", "epochs": "train.epochs",
               "batch_size": "train.batch_size", "lr": "train.lr", "optimizer": "train.optimizer",
               "seed": "train.seed"}


def config_from_args(args) -> dict:
    """The validated config of ``--config`` with the named options and ``--set key=value`` applied."""
    cfg = load_config(args.config)
    overrides = {key: getattr(args, opt) for opt, key in OPTION_KEYS.items() if getattr(args, opt, None) is not None}
    cfg = apply_overrides(cfg, overrides)
    return apply_overrides(cfg, list(args.set or []))


def run(args) -> int:
    progress = dict(progress=not args.no_progress, verbose=args.verbose, quiet=args.quiet)
    if args.resume:
        if args.config:
            raise ValueError("--resume: the run folder holds its config; leave out --config")
        extra = None
        if args.epochs is not None or args.set:
            saved = pathlib.Path(args.resume) / "config.json"
            if not saved.is_file():
                raise FileNotFoundError(f"--resume: {args.resume} is not a run folder (no config.json)")
            base = load_config(json.loads(saved.read_text(encoding="utf-8")))
            extra = apply_overrides(base, ({"train.epochs": args.epochs} if args.epochs is not None else {}))
            extra = apply_overrides(extra, list(args.set or []))
        run_training(extra, resume=args.resume, **progress)
        return 0
    cfg = config_from_args(args)
    run_dir = new_run_dir(args.out, cfg["name"])
    try:
        run_training(cfg, run_dir, **progress)
    except KeyboardInterrupt:
        if (run_dir / "checkpoint.npz").exists():
            print(f"\ninterrupted; continue with: xpnet train --resume {run_dir}", file=sys.stderr)
        raise
    return 0
