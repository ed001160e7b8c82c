"""Run configuration: defaults, TOML files, command-line overrides, validation."""
from __future__ import annotations

import copy
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULTS = {
    "data": {"dataset": "mnist1d", "standardize": False, "validation_split": 0.0},
    "model": "baseline",
    "train": {
        "backend": "numpy", "epochs": 150, "batch_size": 100, "lr": 1e-2, "optimizer": "adam", "momentum": 0.0,
        "nesterov": False, "weight_decay": 0.0, "betas": [0.9, 0.999], "scheduler": "none", "warmup_epochs": 0,
        "label_smoothing": 0.0, "early_stopping": 0, "seed": 0, "shuffle": False, "clip_grad_norm": 0.0,
    },
}
_SECTIONS = {"data", "model", "train", "name", "description"}


def load_config(path=None) -> dict:
    cfg = copy.deepcopy(DEFAULTS)
    if path is None:
        return cfg
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"--config: no such file {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"--config: {path} is not valid TOML: {e}") from None
    unknown = set(raw) - _SECTIONS
    if unknown:
        raise KeyError(f"--config {path}: unknown sections {sorted(unknown)}; expected {sorted(_SECTIONS)}")
    for section in ("data", "train"):
        extra = set(raw.get(section, {})) - set(DEFAULTS[section])
        if extra:
            raise KeyError(f"--config {path}: unknown keys in [{section}]: {sorted(extra)}; "
                           f"expected some of {sorted(DEFAULTS[section])}")
        cfg[section].update(raw.get(section, {}))
    if "model" in raw:
        cfg["model"] = raw["model"]
    for k in ("name", "description"):
        if k in raw:
            cfg[k] = raw[k]
    return cfg
