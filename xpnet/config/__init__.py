"""Run configuration: the schema (``DEFAULTS``, ``SCHEMA``), loading and overriding configs, building
the model, optimiser and schedule a config describes, and ``run_training`` (what ``xpnet train`` does).

>>> from xpnet.config import load_config, apply_overrides, run_training
>>> cfg = apply_overrides(load_config("mnist1d_best"), {"train.epochs": 5})   # doctest: +SKIP
>>> summary = run_training(cfg, "runs/quick")                                  # doctest: +SKIP
"""
from .loading import apply_overrides, config_dirs, list_configs, load_config, parse_override, resolve_config
from .models import ACTIVATIONS, EXTRACTORS, NORMS, Baseline, build_model
from .optimizers import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler
from .run import evaluate_run, resolve_backend, run_training
from .run_folder import FILES as RUN_FILES
from .run_folder import LoadedRun, load_run
from .schema import DEFAULTS, SCHEMA, ConfigError, Key, describe_keys, validate

__all__ = [
    "ACTIVATIONS", "DEFAULTS", "EXTRACTORS", "NORMS", "OPTIMIZERS", "RUN_FILES", "SCHEDULERS", "SCHEMA", "Baseline", "ConfigError",
    "Key", "LoadedRun", "apply_overrides", "build_model", "build_optimizer", "build_scheduler", "config_dirs",
    "describe_keys", "evaluate_run", "list_configs", "load_config", "load_run", "parse_override", "resolve_backend",
    "resolve_config", "run_training", "validate",
]
