"""The one place the experiments package meets the config package: ``load_config(source)``,
``apply_overrides(cfg, {"train.lr": 0.1})`` (dotted keys, validated) and ``run_training(cfg, out_dir,
*, progress, verbose, quiet) -> dict`` from :mod:`xpnet.config`."""
from __future__ import annotations

from ..config import apply_overrides, load_config, run_training

__all__ = ["apply_overrides", "load_config", "run_training"]
