"""Expand a :class:`Spec` into variants (named override sets) and runs (variant × seed).

A run is identified by the SHA-256 of its full resolved config (seed included): the same config
reached twice (the base value of two factors in ``vary``) is one run, and a finished run is skipped
on re-run.
"""
from __future__ import annotations

import hashlib
import itertools
import json

from dataclasses import dataclass, field

from ._api import apply_overrides


@dataclass
class Variant:
    name: str
    overrides: dict
    factor: str | None = None       # vary: the dotted key varied; grid: "+"-joined keys
    value: object = None            # the factor's value (grid: a tuple of values)
    step: int | None = None         # steps: 0-based index
    adopt_if_better: bool = False
    extra: dict = field(default_factory=dict)


@dataclass
class Run:
    variant: Variant
    seed: int
    config: dict
    key: str                        # config hash (seed included)
    run_id: str                     # folder name under runs/

    @property
    def overrides(self) -> dict:
        return self.variant.overrides


def fmt_value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "[" + ",".join(fmt_value(x) for x in v) + "]"
    return str(v)


def short_key(key: str) -> str:
    """``train.lr`` → ``lr``; ``model.hidden`` → ``hidden``."""
    return key.split(".", 1)[-1]


def config_hash(cfg: dict) -> str:
    """SHA-256 (hex) of the config as sorted, compact JSON: the identity of a run.

    >>> from xpnet.experiments import config_hash
    >>> config_hash({"b": 1, "a": 2}) == config_hash({"a": 2, "b": 1}), len(config_hash({}))
    (True, 64)
    """
    blob = json.dumps(cfg, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()



def variants(spec) -> list:
    """The variants of a grid, vary or variants study (steps are expanded one at a time by the runner).

    >>> from xpnet.experiments import parse_spec, variants
    >>> spec = parse_spec({"name": "lr", "grid": {"train.lr": [0.1, 0.01], "train.batch_size": [32, 64]}})
    >>> [v.name for v in variants(spec)]
    ['lr=0.1, batch_size=32', 'lr=0.1, batch_size=64', 'lr=0.01, batch_size=32', 'lr=0.01, batch_size=64']
    """
    if spec.kind == "grid":
        labels = list(spec.study)
        keys = [spec.study[lab][0] for lab in labels]
        out = []
        for combo in itertools.product(*(spec.study[lab][1] for lab in labels)):
            ov = dict(zip(keys, combo))
            name = ", ".join(f"{short_key(lab)}={fmt_value(v)}" for lab, v in zip(labels, combo))
            out.append(Variant(name, ov, factor="+".join(labels), value=combo if len(combo) > 1 else combo[0]))
        return out
    if spec.kind == "vary":
        return [Variant(f"{short_key(label)}={fmt_value(v)}", {key: v}, factor=label, value=v)
                for label, (key, values) in spec.study.items() for v in values]
    if spec.kind == "variants":
        return [Variant(item["name"], dict(item["set"]), factor="variant", value=item["name"]) for item in spec.study]
    raise ValueError(f"variants: a {spec.kind} study is expanded step by step")


def step_variant(spec, index: int, adopted: dict) -> Variant:
    """Step ``index`` applied on top of the overrides adopted so far."""
    item = spec.study[index]
    ov = {**adopted, **item["set"]}
    return Variant(item["name"], ov, factor="step", value=item["name"], step=index,
                   adopt_if_better=item["adopt_if_better"], extra={"set": dict(item["set"])})


def runs_for(spec, variant: Variant) -> list:
    """One :class:`Run` per seed of the spec: the resolved config (seed included) and its hash.

    >>> from xpnet.experiments import parse_spec, runs_for, variants
    >>> spec = parse_spec({"name": "lr", "seeds": [0, 1], "grid": {"train.lr": [0.1]}})
    >>> [(run.seed, run.config["train"]["lr"], run.run_id.endswith(f"-s{run.seed}"))
    ...  for run in runs_for(spec, variants(spec)[0])]
    [(0, 0.1, True), (1, 0.1, True)]
    """
    out = []
    for seed in spec.seeds:
        cfg = apply_overrides(spec.base, {**variant.overrides, "train.seed": seed})
        key = config_hash(cfg)
        out.append(Run(variant, seed, cfg, key, f"{key[:12]}-s{seed}"))
    return out
