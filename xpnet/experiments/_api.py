"""The one place the experiments package meets the config package (``xpnet.config``).

``load_config(source)``, ``apply_overrides(cfg, {"train.lr": 0.1})`` (dotted keys, validated) and
``run_training(cfg, out_dir, *, progress, verbose, quiet) -> dict`` come from ``xpnet.config`` when
it exists; until then from :mod:`._fallback`, which follows the same signatures.
"""
from __future__ import annotations

try:  # pragma: no cover - which branch runs depends on the checkout
    from ..config import apply_overrides, load_config, run_training
except ImportError:  # pragma: no cover
    from ._fallback import apply_overrides, load_config, run_training

__all__ = ["apply_overrides", "load_config", "run_training"]
