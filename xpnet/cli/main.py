"""The ``xpnet`` command: ``train``, ``eval``, ``predict``, ``configs``, ``bench``, ``info``.

Expected failures (a bad config key, a missing file, a backend that cannot run here, a diverging
loss) print one line, ``xpnet <command>: error: ...``, and exit with status 2; ``--debug`` shows the
traceback instead.
"""
from __future__ import annotations

import argparse
import sys

from .._version import __version__

COMMANDS = ("train", "eval", "predict", "configs", "bench", "sweep", "info")


def _expected_errors() -> tuple:
    from ..backend import BackendUnavailableError
    from ..train.loop import NonFiniteLossError

    return (ValueError, TypeError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
            PermissionError, ImportError, BackendUnavailableError, NonFiniteLossError)


def _add_train(sub, common):
    from ..config.optimizers import OPTIMIZERS
    from ..config.run import SYNTHETIC_NOTE

    tr = sub.add_parser("train", parents=[common], help="train a model and write a run folder",
                        description="Train a model (default: the MNIST-1D baseline MLP) and write config, history, "
                                    "metrics, weights, preprocessing, checkpoint and plots to a run folder. "
                                    "Validation uses a stratified 10%% of the training data (data.validation_split); "
                                    "the test split is evaluated once, at the end.")
    tr.add_argument("--config", help="a TOML file or a packaged config name (xpnet configs lists them)")
    tr.add_argument("--dataset", help="mnist1d (default); synthetic (random labels: a speed test, not a learning "
                                      "task); a folder of train_data.npy/train_label.npy/test_data.npy/test_label.npy; "
                                      "an .npz or a .csv")
    tr.add_argument("--backend", help="numpy, torch, torch:cuda, cupy, array_api_strict (default: XPNET_BACKEND, "
                                      "else numpy)")
    tr.add_argument("--model", help="baseline (default) or mlp:W1,W2,... (a [model] table or --set model.KEY=... for more)")
    tr.add_argument("--epochs", type=int, help="number of epochs (default 150)")
    tr.add_argument("--batch-size", dest="batch_size", type=int, help="mini-batch size (default 100)")
    tr.add_argument("--lr", type=float, help="learning rate (default 0.01)")
    tr.add_argument("--optimizer", help=f"one of {', '.join(OPTIMIZERS)} (default adam)")
    tr.add_argument("--seed", type=int, help="random seed (default 0)")
    tr.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override any config key, value in TOML syntax (repeatable): --set train.weight_decay=1e-4 "
                         "--set model.hidden=[64,32]")
    tr.add_argument("--out", default="runs", help="parent folder of the run folder (default ./runs)")
    tr.add_argument("--resume", metavar="RUN", help="continue the run folder RUN from its last finished epoch "
                                                    "(--epochs N to train it longer)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    tr.add_argument("--verbose", action="store_true", help="one line per epoch, also in a terminal")
    tr.add_argument("--quiet", action="store_true", help="print nothing but errors")
    tr.epilog = f"Note: {SYNTHETIC_NOTE}."


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    ap = argparse.ArgumentParser(prog="xpnet", parents=[common],
                                 description="Train, evaluate and benchmark small neural nets on any Array API backend.")
    ap.add_argument("--version", action="version", version=f"xpnet {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    _add_train(sub, common)

    ev = sub.add_parser("eval", parents=[common], help="evaluate a run folder on its test split",
                        description="Reload a run folder (weights, preprocessing, config) and evaluate it on the test "
                                    "split of its dataset, or of --dataset.")
    ev.add_argument("run", metavar="RUN", help="a run folder written by xpnet train")
    ev.add_argument("--dataset", help="evaluate on this dataset's test split instead of the run's")

    pr = sub.add_parser("predict", parents=[common], help="predict classes for an .npy file with a run's model",
                        description="Apply a run's preprocessing and model to the rows of an .npy file.")
    pr.add_argument("run", metavar="RUN", help="a run folder written by xpnet train")
    pr.add_argument("--input", required=True, help=".npy file of shape (N, features)")
    pr.add_argument("--output", required=True, help=".npy file to write the predicted classes (int64) to")
    pr.add_argument("--logits", action="store_true", help="write the logits (N, classes) instead")

    sub.add_parser("configs", parents=[common], help="list the packaged configs (for --config NAME)")

    bn = sub.add_parser("bench", parents=[common], help="time training and inference against PyTorch and NumPy",
                        description="Benchmark xpnet against PyTorch eager and a hand-written NumPy MLP on workloads "
                                    "W1-W4 (interleaved rounds, median/min/max, ratios). Writes .md, .json, .png.")
    from ..bench.cli import add_arguments

    add_arguments(bn)
    sw = sub.add_parser("sweep", parents=[common],
                        help="run an experiment file: grid, vary, ablation steps or variants over seeds",
                        description="Run the studies of an experiment TOML file in parallel (local processes or Dask), "
                                    "skipping finished runs; writes results.csv/json, table.md, figures and report.html.")
    from .sweep import add_arguments as sweep_arguments

    sweep_arguments(sw)
    sub.add_parser("info", parents=[common], help="version, backends available and why not, devices, fast paths")
    return ap


def _run(args) -> int:
    if args.command == "train":
        from .train import run

        return run(args)
    if args.command == "eval":
        from ..config import evaluate_run

        evaluate_run(args.run, args.dataset)
        return 0
    if args.command == "predict":
        from .predict import run

        return run(args)
    if args.command == "configs":
        from .info import configs

        return configs(args)
    if args.command == "sweep":
        from .sweep import run as sweep

        return sweep(args)
    if args.command == "bench":
        from ..bench.cli import run as bench

        return bench(args)
    from .info import info

    return info(args)


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 2
    if getattr(args, "debug", False):
        return _run(args)
    try:
        return _run(args)
    except _expected_errors() as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"xpnet {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"xpnet {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `xpnet train | head`: the reader left
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
