"""Experiments: sweeps, one-factor-at-a-time studies, ablations/roadmaps and comparisons over seeds,
from one TOML file (``xpnet sweep FILE.toml``) or ``xn.experiments.run(spec)``.

>>> import xpnet as xn
>>> res = xn.experiments.run("configs/experiments/report000_lr.toml", workers=2)   # doctest: +SKIP
>>> print(res.table)                                                                 # doctest: +SKIP
"""
from .expand import Run, Variant, config_hash, runs_for, variants
from .runner import Results, run
from .spec import Spec, load_spec, parse_spec

__all__ = ["Results", "Run", "Spec", "Variant", "config_hash", "load_spec", "parse_spec", "run", "runs_for", "variants"]
