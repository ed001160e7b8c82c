# purity: host -- the PyTorch peer of the benchmark, not engine code
"""The same workloads in PyTorch eager (the peer every xpnet timing is divided by)."""
from __future__ import annotations

import numpy as np
import torch


class _Residual(torch.nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return self.block(x) + x


def build(layers):
    out = []
    for s in layers:
        k = s[0]
        if k == "linear":
            out.append(torch.nn.Linear(s[1], s[2]))
        elif k == "bn":
            out.append(torch.nn.BatchNorm1d(s[1]))
        elif k == "gelu":
            out.append(torch.nn.GELU())
        elif k == "relu":
            out.append(torch.nn.ReLU())
        elif k == "leaky":
            out.append(torch.nn.LeakyReLU(s[1]))
        elif k == "dropout":
            out.append(torch.nn.Dropout(s[1]))
        elif k == "residual":
            out.append(_Residual(build(s[1])))
    return torch.nn.Sequential(*out)


def make(layers, weights, cfg, device):
    model = build(layers).to(device)
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.as_tensor(np.asarray(w)))
    if cfg["name"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    return model, opt


def synchronize(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def versions() -> dict:
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda": torch.version.cuda if torch.cuda.is_available() else None}


def set_threads(n: int) -> None:
    torch.set_num_threads(n)
