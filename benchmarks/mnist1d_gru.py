"""MNIST-1D with the GRU baseline of Greydanus (2020): the same model and training in xpnet and in PyTorch.
Writes benchmarks/results/mnist1d_gru.md (+ .json).

    python benchmarks/mnist1d_gru.py [--steps 6000] [--seeds 1] [--out benchmarks/results]

Model (mnist1d's ``GRU``): the 40 samples as a sequence of 1 feature, bidirectional GRU with 6 hidden
units (batch_first), every step's output (40·2·6 = 480 features) into Linear(480, 10). Training as the
mnist1d baselines: Adam lr 1e-2, batch 100, ``--steps`` steps (6000 = 150 epochs of 40 batches), batches
in order, raw features, PyTorch default initialisation; test accuracy at the end. Not run in CI.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np

import xpnet as xn
from xpnet import nn, optim

HIDDEN, STEPS_IN, BATCH, LR = 6, 40, 100, 1e-2


class XGRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(1, HIDDEN, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(HIDDEN * STEPS_IN * 2, 10)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(x.shape[0], STEPS_IN, 1))
        return self.linear(out.reshape(x.shape[0], -1))


def xpnet_run(s, seed, steps):
    xn.manual_seed(seed)
    model = XGRUNet()
    opt = optim.Adam(model.parameters(), lr=LR)
    X, y = xn.asarray(s.x_train), xn.asarray(s.y_train)
    n = X.shape[0]
    for step in range(steps):
        i = (step * BATCH) % n
        loss = nn.functional.cross_entropy(model(X[i:i + BATCH, ...]), y[i:i + BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with xn.no_grad():
        pred = xn.to_numpy(model(xn.asarray(s.x_test)).data).argmax(1)
    return float((pred == np.asarray(s.y_test)).mean())


def torch_run(s, seed, steps):
    import torch

    torch.set_num_threads(1)  # single-threaded, as xpnet's NumPy run (and no oversubscription)
    torch.manual_seed(seed)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(1, HIDDEN, batch_first=True, bidirectional=True)
            self.linear = torch.nn.Linear(HIDDEN * STEPS_IN * 2, 10)

        def forward(self, x):
            out, _ = self.rnn(x.reshape(x.shape[0], STEPS_IN, 1))
            return self.linear(out.reshape(x.shape[0], -1))

    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    X, y = torch.tensor(s.x_train), torch.tensor(s.y_train)
    for step in range(steps):
        i = (step * BATCH) % len(X)
        loss = torch.nn.functional.cross_entropy(model(X[i:i + BATCH]), y[i:i + BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((model(torch.tensor(s.x_test)).argmax(1) == torch.tensor(s.y_test)).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    s = xn.datasets.load_mnist1d()
    rows = {}
    for name, fn in (("xpnet GRU", xpnet_run), ("PyTorch GRU", torch_run)):
        accs, t0 = [], time.perf_counter()
        for seed in range(args.seeds):
            accs.append(fn(s, seed, args.steps))
            print(f"{name} seed {seed}: {accs[-1]:.4f}", file=sys.stderr, flush=True)
        rows[name] = {"accuracies": accs, "mean": statistics.mean(accs),
                      "sd": statistics.stdev(accs) if len(accs) > 1 else 0.0, "seconds": time.perf_counter() - t0}
    epochs = args.steps * BATCH / len(s.x_train)
    lines = ["# MNIST-1D: GRU baseline, xpnet vs PyTorch", "",
             f"Data: `mnist1d` defaults ({s.describe()}). Model: bidirectional GRU(1 → {HIDDEN}) over the 40 samples, "
             f"all step outputs → Linear(480, 10). Adam lr {LR}, batch {BATCH}, {args.steps} steps "
             f"({epochs:g} epochs), batches in order, raw features, {args.seeds} seed(s). "
             f"Command: `python benchmarks/mnist1d_gru.py --steps {args.steps} --seeds {args.seeds}`.", "",
             "| implementation | test accuracy | per seed | wall time (all seeds) |", "|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {100 * r['mean']:.1f} %" + (f" ± {100 * r['sd']:.1f}" if args.seeds > 1 else "")
                     + " | " + ", ".join(f"{100 * a:.1f}" for a in r["accuracies"]) + f" | {r['seconds']:.0f} s |")
    lines += ["", "Reference: the MNIST-1D paper reports about 91 % for its GRU baseline (6000 steps).", ""]
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mnist1d_gru.md").write_text("\n".join(lines))
    (out / "mnist1d_gru.json").write_text(json.dumps({"rows": rows, "steps": args.steps, "epochs": epochs}, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
