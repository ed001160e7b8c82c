"""Benchmark workloads W1–W4 as data, so that every implementation builds the same network.

A layer spec is a tuple: ``("linear", in, out)``, ``("bn", n)``, ``("gelu",)``, ``("relu",)``,
``("leaky", slope)``, ``("dropout", p)``, ``("residual", [specs...])``.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def _block(i, o, act, p):
    layers = [("linear", i, o), ("bn", o), act]
    return layers + ([("dropout", p)] if p else [])


def _w1(width):
    return (_block(128, width, ("gelu",), 0.2) + [("residual", _block(width, width, ("gelu",), 0.2))]
            + [("linear", width, 10)])


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    layers: list = field(repr=False)
    optimizer: dict = field(repr=False)
    batch_size: int = 32

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description, "batch_size": self.batch_size,
                "optimizer": self.optimizer, "layers": [list(map(str, l)) for l in self.layers]}


WORKLOADS = {
    "W1": Workload("W1", "report 000: 128→256 BN GELU Dropout → Residual[256 BN GELU Dropout] → 10, SGD m0.9 wd1e-4",
                   _w1(256), {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}, 32),
    "W2": Workload("W2", "report 004: 128→192 BN LeakyReLU → 10, Adam lr1e-3 wd1e-3",
                   [("linear", 128, 192), ("bn", 192), ("leaky", 0.01), ("linear", 192, 10)],
                   {"name": "adam", "lr": 1e-3, "weight_decay": 1e-3}, 64),
    "W3": Workload("W3", "report 001: 128→64 BN ReLU Dropout → 32 BN ReLU Dropout → 10, Adam lr1e-3",
                   _block(128, 64, ("relu",), 0.25) + _block(64, 32, ("relu",), 0.25) + [("linear", 32, 10)],
                   {"name": "adam", "lr": 1e-3, "weight_decay": 0.0}, 128),
    "W4": Workload("W4", "W1 at width 1024, batch 1024", _w1(1024),
                   {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}, 1024),
}


def build_xpnet(layers):
    """The xpnet ``nn.Sequential`` for a layer spec list (on the active backend)."""
    from .. import nn

    out = []
    for spec in layers:
        kind = spec[0]
        if kind == "linear":
            out.append(nn.Linear(spec[1], spec[2]))
        elif kind == "bn":
            out.append(nn.BatchNorm1d(spec[1]))
        elif kind == "gelu":
            out.append(nn.GELU())
        elif kind == "relu":
            out.append(nn.ReLU())
        elif kind == "leaky":
            out.append(nn.LeakyReLU(spec[1]))
        elif kind == "dropout":
            out.append(nn.Dropout(spec[1]))
        elif kind == "residual":
            out.append(nn.Residual(build_xpnet(spec[1])))
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return nn.Sequential(*out)


def xpnet_optimizer(params, cfg):
    from .. import optim

    if cfg["name"] == "sgd":
        return optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    return optim.Adam(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
