"""The ``xpnet`` command: ``train``, ``bench``, ``info``."""
from __future__ import annotations

import argparse
import sys

from .._version import __version__


def _info(args) -> int:
    from .. import backend as B

    print(f"xpnet {__version__}")
    print(f"python {sys.version.split()[0]}")
    from ..backend.registry import list_devices

    print("backends:")
    for name, status in B.available_backends().items():
        print(f"  {name:<17} {status}")
        devices = list_devices(name)
        if devices:
            print(f"  {'':<17} devices: {', '.join(devices)}")
    print(f"active: {B.get_backend()} (XPNET_BACKEND or set_backend)")
    print(f"default dtype: {B.get_default_dtype()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="xpnet", description="Train and benchmark small neural nets on any Array API backend.")
    ap.add_argument("--version", action="version", version=f"xpnet {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="{train,bench,info}")

    tr = sub.add_parser("train", help="train a model and write a run folder",
                        description="Train a model (default: the MNIST-1D baseline MLP on numpy) and write config, "
                                    "history, metrics, checkpoint and plots to a run folder.")
    tr.add_argument("--config", help="TOML file with [data], [model], [train] tables (see configs/)")
    tr.add_argument("--dataset", help="mnist1d (default), synthetic, a folder of train_data.npy/train_label.npy/"
                                      "test_data.npy/test_label.npy, an .npz or a .csv")
    tr.add_argument("--backend", help="numpy (default), torch, cupy, array_api_strict")
    tr.add_argument("--model", help="baseline (default) or mlp:W1,W2,... (a [model] table in --config for more)")
    tr.add_argument("--epochs", type=int, help="number of epochs (default 150)")
    tr.add_argument("--batch-size", dest="batch_size", type=int, help="mini-batch size (default 100)")
    tr.add_argument("--lr", type=float, help="learning rate (default 0.01)")
    tr.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], help="optimiser (default adam)")
    tr.add_argument("--seed", type=int, help="random seed (default 0)")
    tr.add_argument("--out", default="runs", help="parent folder of the run folder (default ./runs)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.add_argument("--verbose", action="store_true", help="print one line per epoch")

    bn = sub.add_parser("bench", help="time training and inference against PyTorch and hand-written NumPy",
                        description="Benchmark xpnet against PyTorch eager and a hand-written NumPy MLP on workloads "
                                    "W1-W4 (interleaved rounds, median/min/max, ratios). Writes .md, .json, .png.")
    from ..bench.cli import add_arguments

    add_arguments(bn)
    sw = sub.add_parser("sweep", help="run an experiment file: grid, vary, ablation steps or variants over seeds",
                        description="Run the studies of an experiment TOML file in parallel (local processes or Dask), "
                                    "skipping finished runs; writes results.csv/json, table.md, figures and report.html.")
    from .sweep import add_arguments as sweep_arguments

    sweep_arguments(sw)
    sub.add_parser("info", help="version, backends available and why not, devices")
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 2
    try:
        if args.command == "train":
            from .train import run

            return run(args)
        if args.command == "sweep":
            from .sweep import run as sweep

            return sweep(args, argv)
        if args.command == "bench":
            from ..bench.cli import run as bench

            return bench(args)
        return _info(args)
    except (ValueError, TypeError, KeyError, FileNotFoundError, ImportError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"xpnet {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
