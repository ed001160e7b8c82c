"""MNIST-1D results: the public baseline MLP in xpnet and in PyTorch (3 seeds each), and the best
xpnet recipe. Writes benchmarks/results/mnist1d.md (+ .json).

    python benchmarks/mnist1d.py [--seeds 3] [--out benchmarks/results]

Baseline (Greydanus 2020, MNIST-1D): 40→100 ReLU, h + ReLU(Linear(100,100) h), →10; Adam lr 1e-2,
batch 100, 6000 steps (150 epochs of 40 batches), batches in order, PyTorch default init.
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
from xpnet.config.models import Baseline, build_model

BEST = {
    "model": {"hidden": [256, 256], "activation": "gelu", "norm": "batchnorm", "dropout": 0.2, "residual": True},
    "optimizer": "AdamW", "lr": 3e-3, "weight_decay": 1e-2, "label_smoothing": 0.0, "epochs": 150, "batch_size": 100,
    "schedule": "cosine", "standardize": True, "shuffle": True,
}


def xpnet_baseline(s, seed):
    xn.manual_seed(seed)
    model = Baseline(40, 100, 10)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    xn.fit(model, (s.x_train, s.y_train), optimizer=opt, epochs=150, batch_size=100, shuffle=False, progress=False)
    return xn.evaluate(model, (s.x_test, s.y_test))["accuracy"]


def torch_baseline(s, seed):
    import torch

    torch.manual_seed(seed)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2, self.l3 = torch.nn.Linear(40, 100), torch.nn.Linear(100, 100), torch.nn.Linear(100, 10)

        def forward(self, x):
            h = torch.relu(self.l1(x))
            h = h + torch.relu(self.l2(h))
            return self.l3(h)

    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    X, y = torch.tensor(s.x_train), torch.tensor(s.y_train)
    for step in range(6000):
        i = (step * 100) % len(X)
        loss = torch.nn.functional.cross_entropy(model(X[i:i + 100]), y[i:i + 100])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((model(torch.tensor(s.x_test)).argmax(1) == torch.tensor(s.y_test)).float().mean())


def xpnet_best(s, seed):
    xn.manual_seed(seed)
    Xtr, Xte = xn.asarray(s.x_train), xn.asarray(s.x_test)
    scaler = xn.preprocessing.StandardScaler().fit(Xtr)
    model = build_model(BEST["model"], 40, 10)
    opt = optim.AdamW(model.parameters(), lr=BEST["lr"], weight_decay=BEST["weight_decay"])
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=BEST["epochs"])
    xn.fit(model, (scaler.transform(Xtr), s.y_train), loss=nn.CrossEntropyLoss(label_smoothing=BEST["label_smoothing"]),
           optimizer=opt, scheduler=sched, epochs=BEST["epochs"], batch_size=BEST["batch_size"], shuffle=True,
           seed=seed, progress=False)
    return xn.evaluate(model, (scaler.transform(Xte), s.y_test))["accuracy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    s = xn.datasets.load_mnist1d()
    rows = {}
    for name, fn in (("xpnet baseline", xpnet_baseline), ("PyTorch baseline", torch_baseline),
                     ("xpnet best recipe", xpnet_best)):
        accs, t0 = [], time.perf_counter()
        for seed in range(args.seeds):
            accs.append(fn(s, seed))
            print(f"{name} seed {seed}: {accs[-1]:.4f}", file=sys.stderr, flush=True)
        rows[name] = {"accuracies": accs, "mean": statistics.mean(accs), "sd": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                      "seconds": time.perf_counter() - t0}
    lines = ["# MNIST-1D test accuracy", "",
             f"Data: `mnist1d.data.make_dataset` defaults ({s.describe()}), generated offline. "
             f"{args.seeds} seeds each (seed = initialisation and shuffling). Command: `python benchmarks/mnist1d.py --seeds {args.seeds}`.", "",
             "| model | mean ± sd test accuracy | per seed | wall time (all seeds) |", "|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {100 * r['mean']:.1f} % ± {100 * r['sd']:.1f} | "
                     + ", ".join(f"{100 * a:.1f}" for a in r["accuracies"]) + f" | {r['seconds']:.0f} s |")
    lines += ["", "Baseline: 40→100 ReLU, h + ReLU(Linear(100,100) h), →10; Adam lr 1e-2, batch 100, 6000 steps, batches in order, raw features.",
              "", "Best recipe: " + json.dumps(BEST), ""]
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mnist1d.md").write_text("\n".join(lines))
    (out / "mnist1d.json").write_text(json.dumps({"rows": rows, "best_recipe": BEST}, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
