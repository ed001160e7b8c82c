"""Optimisers and learning-rate schedules described by a config's [train] table.

``OPTIMIZERS`` and ``SCHEDULERS`` map the config's names to factories; ``build_optimizer`` and
``build_scheduler`` look them up (the schema takes its allowed values from these tables).
"""
from __future__ import annotations

from .. import optim

OPTIMIZERS = {
    "sgd": lambda params, t: optim.SGD(params, lr=t["lr"], momentum=t["momentum"], nesterov=t["nesterov"],
                                       weight_decay=t["weight_decay"]),
    "adam": lambda params, t: optim.Adam(params, lr=t["lr"], betas=tuple(t["betas"]), weight_decay=t["weight_decay"]),
    "adamw": lambda params, t: optim.AdamW(params, lr=t["lr"], betas=tuple(t["betas"]), weight_decay=t["weight_decay"]),
    "nadam": lambda params, t: optim.NAdam(params, lr=t["lr"], betas=tuple(t["betas"]), weight_decay=t["weight_decay"]),
    "rmsprop": lambda params, t: optim.RMSprop(params, lr=t["lr"], momentum=t["momentum"],
                                               weight_decay=t["weight_decay"]),
    "adagrad": lambda params, t: optim.Adagrad(params, lr=t["lr"], weight_decay=t["weight_decay"]),
}

_S = optim.lr_scheduler

SCHEDULERS = {
    "none": lambda opt, t: None,
    "cosine": lambda opt, t: _S.CosineAnnealingLR(opt, T_max=max(t["epochs"] - t["warmup_epochs"], 1)),
    "step": lambda opt, t: _S.StepLR(opt, step_size=max(t["epochs"] // 3, 1), gamma=0.1),
    "plateau": lambda opt, t: _S.ReduceLROnPlateau(opt, factor=0.5, patience=5),
}


def _train_table(t):
    from .schema import validate

    return validate({"train": t})["train"]


def build_optimizer(params, train_cfg):
    """The optimiser of a [train] table (``optimizer``, ``lr``, ``momentum``, ``nesterov``,
    ``weight_decay``, ``betas``) over ``params``."""
    t = _train_table(train_cfg)
    return OPTIMIZERS[t["optimizer"]](params, t)


def build_scheduler(opt, train_cfg):
    """The schedule of a [train] table (``scheduler``, ``epochs``, ``warmup_epochs``), or None.
    Warm-up: ``LinearLR`` from 0.1·lr over ``warmup_epochs``, then the schedule (``SequentialLR``)."""
    t = _train_table(train_cfg)
    warm = t["warmup_epochs"]
    main = SCHEDULERS[t["scheduler"]](opt, t)
    if not warm:
        return main
    warmup = _S.LinearLR(opt, start_factor=0.1, total_iters=warm)
    return warmup if main is None else _S.SequentialLR(opt, [warmup, main], milestones=[warm])
