"""The configuration schema: every key of a run config, its type, default, allowed values and meaning.

A config is a dict of three tables and two strings (the TOML layout of ``configs/*.toml``)::

    name = "mnist1d-best"             # top level
    description = "..."
    [data]  dataset, standardize, validation_split
    [model] type, hidden, activation, negative_slope, norm, norm_after_activation, dropout, residual, init
    [train] backend, epochs, batch_size, lr, optimizer, momentum, nesterov, weight_decay, betas,
            scheduler, warmup_epochs, label_smoothing, early_stopping, seed, shuffle, clip_grad_norm

:func:`validate` turns a partial config (a TOML file's content, a dict of inline tables) into a full
one: unknown keys and wrong types are errors naming the key (``train.lr: expected a number, got
'0.003' (str)``) and listing the valid keys or values; missing keys take their defaults.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from ..backend import registry
from ..nn.init import INITIALISERS
from .models import ACTIVATIONS, EXTRACTORS, NORMS
from .optimizers import OPTIMIZERS, SCHEDULERS



class ConfigError(ValueError):
    """A config key is unknown, of the wrong type or out of range; the message names the key."""


@dataclass(frozen=True)
class Key:
    """One config key: ``type`` is ``int``, ``number``, ``bool``, ``str``, ``list[int]`` or
    ``list[number]``; ``choices`` the allowed strings; ``low``/``high`` an inclusive/exclusive range."""

    type: str
    default: object
    doc: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    length: int | None = None


SCHEMA: dict = {
    "name": Key("str", "run", "run name; the run folder is `<name>-<date>-<time>`"),
    "description": Key("str", "", "free text, kept in `config.json`"),
    "data": {
        "dataset": Key("str", "mnist1d", "`mnist1d`, `synthetic` (random labels: a speed test, not a learning "
                                          "task), a folder of `train_data.npy`/`train_label.npy`/`test_data.npy`/"
                                          "`test_label.npy`, an `.npz` or a `.csv`"),
        "standardize": Key("bool", False, "standardise features with a `StandardScaler` fitted on the training "
                                          "rows only (saved in the run folder)"),
        "task": Key("str", "classification", "`classification` (integer labels, cross-entropy, accuracy) or "
                                                "`regression` (float targets, MSE; metrics R², RMSE, MAE, MSE; "
                                                "datasets: `synthetic_regression`, an `.npz`, `.csv` or `.npy` folder)",
                    choices=("classification", "regression")),
        "validation_split": Key("number", 0.1, "fraction of the training data held out (stratified, seeded by "
                                               "`train.seed`) for validation, best epoch and early stopping; 0: none. "
                                               "The test split is only evaluated once, at the end", low=0.0, high=1.0),
    },
    "model": {
        "type": Key("str", "baseline", "`baseline` (the MNIST-1D MLP: in→h ReLU, h + ReLU(Linear(h,h) h), →classes, "
                                       "h = `hidden[0]`), `mlp` (a [model] table without `type` is an `mlp`), or a "
                                       "feature extractor before the MLP head: `cnn`, `rnn`, `attention` "
                                       "(`xpnet.nn.extractors`)",
                    choices=("baseline", "mlp", *EXTRACTORS)),
        "hidden": Key("list[int]", [100], "hidden layer widths", low=1),
        "activation": Key("str", "relu", "hidden activation", choices=tuple(sorted(ACTIVATIONS))),
        "negative_slope": Key("number", 0.01, "slope of `leaky_relu` for x < 0"),
        "norm": Key("str", "none", "normalisation after each hidden Linear", choices=tuple(NORMS)),
        "norm_after_activation": Key("bool", False, "Linear → activation → norm instead of Linear → norm → activation"),
        "dropout": Key("number", 0.0, "dropout probability after each hidden block", low=0.0, high=1.0),
        "residual": Key("bool", False, "wrap every hidden block whose width equals the previous one in a Residual"),
        "channels": Key("list[int]", [16, 32], "`cnn`: output channels of each Conv1d → activation → MaxPool1d(2) "
                                                "stage", low=1),
        "kernel_size": Key("int", 5, "`cnn`: Conv1d kernel size (padding kernel_size // 2)", low=1),
        "patch": Key("int", 4, "`rnn`/`attention`: features per sequence step (must divide the input features)",
                     low=1),
        "embed_dim": Key("int", 32, "`rnn`: hidden units; `attention`: embedding width", low=1),
        "heads": Key("int", 4, "`attention`: attention heads (must divide embed_dim)", low=1),
        "init": Key("str", "default", "weight initialiser of the Linear layers (`default`: PyTorch's)",
                    choices=("default",) + tuple(sorted(INITIALISERS))),
    },
    "train": {
        "backend": Key("str", "auto", "`auto` (the `XPNET_BACKEND` environment variable, else numpy), `numpy`, "
                                      "`torch`, `torch:cuda`, `cupy`, `array_api_strict`"),
        "epochs": Key("int", 150, "training epochs", low=0),
        "batch_size": Key("int", 100, "mini-batch size", low=1),
        "lr": Key("number", 1e-2, "learning rate", low=0.0),
        "optimizer": Key("str", "adam", "optimiser", choices=tuple(OPTIMIZERS)),
        "momentum": Key("number", 0.0, "SGD and RMSprop momentum", low=0.0),
        "nesterov": Key("bool", False, "SGD Nesterov momentum (needs momentum > 0)"),
        "weight_decay": Key("number", 0.0, "L2 penalty (decoupled decay for AdamW)", low=0.0),
        "betas": Key("list[number]", [0.9, 0.999], "Adam/AdamW/NAdam (β₁, β₂)", low=0.0, high=1.0, length=2),
        "scheduler": Key("str", "none", "learning-rate schedule, stepped once per epoch: cosine (to 0 over the "
                                        "epochs after warm-up), step (×0.1 every epochs/3), plateau (×0.5 after "
                                        "5 epochs without a lower validation loss)", choices=tuple(SCHEDULERS)),
        "warmup_epochs": Key("int", 0, "linear warm-up from 0.1·lr over this many epochs", low=0),
        "loss": Key("str", "auto", "`auto` (cross-entropy for classification, MSE for regression), "
                                   "`cross_entropy`, or `mse` (implies data.task = regression)",
                    choices=("auto", "cross_entropy", "mse")),
        "label_smoothing": Key("number", 0.0, "cross-entropy label smoothing", low=0.0, high=1.0),
        "early_stopping": Key("int", 0, "patience in epochs on the validation loss (0: off); the best "
                                        "weights are restored", low=0),
        "seed": Key("int", 0, "seed of initialisation, dropout, shuffling and the validation split", low=0),
        "shuffle": Key("bool", False, "reshuffle the training rows every epoch"),
        "clip_grad_norm": Key("number", 0.0, "clip the global gradient norm to this value each step (0: off)",
                              low=0.0),
    },
}
SECTIONS = ("data", "model", "train")
TOP_LEVEL = ("name", "description")


def _defaults(table):
    return {k: (_defaults(v) if isinstance(v, dict) else copy.deepcopy(v.default)) for k, v in table.items()}


DEFAULTS: dict = _defaults(SCHEMA)
"""The default config (what ``xpnet train`` runs with no options)."""

_TYPE_WORDS = {"int": "an integer", "number": "a number", "bool": "true or false", "str": "a string",
               "list[int]": "a list of integers", "list[number]": "a list of numbers"}


def _scalar_ok(kind, v):
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind == "bool":
        return isinstance(v, bool)
    return isinstance(v, str)


def _got(v):
    return f"{v!r} ({type(v).__name__})"


def check_value(key: str, spec: Key, v):
    """``v`` checked against ``spec`` (numbers become floats); raises :class:`ConfigError` naming ``key``."""
    want = _TYPE_WORDS[spec.type]
    if spec.type.startswith("list["):
        inner = spec.type[5:-1]
        if not isinstance(v, (list, tuple)) or not all(_scalar_ok(inner, x) for x in v):
            raise ConfigError(f"{key}: expected {want}, got {_got(v)}")
        if spec.length is not None and len(v) != spec.length:
            raise ConfigError(f"{key}: expected {spec.length} values, got {len(v)}: {list(v)!r}")
        items = [float(x) if inner == "number" else x for x in v]
        for x in items:
            _check_range(key, spec, x)
        return items
    if not _scalar_ok(spec.type, v):
        raise ConfigError(f"{key}: expected {want}, got {_got(v)}")
    if spec.choices is not None and v not in spec.choices:
        raise ConfigError(f"{key}: expected one of {', '.join(spec.choices)}; got {v!r}")
    if spec.type == "number":
        v = float(v)
    _check_range(key, spec, v)
    return v


def _check_range(key, spec, v):
    if spec.low is not None and v < spec.low:
        raise ConfigError(f"{key}: expected a value >= {spec.low:g}, got {v!r}")
    if spec.high is not None and v >= spec.high:
        raise ConfigError(f"{key}: expected a value < {spec.high:g}, got {v!r}")


def _unknown(key, valid, where):
    return ConfigError(f"{key}: unknown key; valid keys {where}: {', '.join(valid)}")


def model_from_string(spec: str) -> dict:
    """``"baseline"`` or ``"mlp:W1,W2,..."`` as a [model] table."""
    if spec == "baseline":
        return {"type": "baseline"}
    if spec.startswith("mlp:"):
        try:
            widths = [int(w) for w in spec[4:].split(",") if w.strip()]
        except ValueError:
            raise ConfigError(f"model: widths in {spec!r} must be integers") from None
        return {"type": "mlp", "hidden": widths}
    raise ConfigError(f"model: expected 'baseline', 'mlp:W1,W2,...' or a [model] table, got {spec!r}")


def validate(raw) -> dict:
    """A full, checked config from a partial one (missing keys take their defaults)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config: expected a table (dict), got {_got(raw)}")
    cfg = copy.deepcopy(DEFAULTS)
    valid_top = sorted(SECTIONS + TOP_LEVEL)
    for k, v in raw.items():
        if k not in SCHEMA:
            raise _unknown(k, valid_top, "at the top level")
        if k in TOP_LEVEL:
            cfg[k] = check_value(k, SCHEMA[k], v)
            continue
        if k == "model" and isinstance(v, str):
            v = model_from_string(v)
        if not isinstance(v, dict):
            raise ConfigError(f"{k}: expected a table [{k}], got {_got(v)}")
        if k == "model":
            v = {"type": "mlp", **v}  # a [model] table describes an MLP unless it says otherwise
        for kk, vv in v.items():
            if kk not in SCHEMA[k]:
                raise _unknown(f"{k}.{kk}", sorted(SCHEMA[k]), f"in [{k}]")
            cfg[k][kk] = check_value(f"{k}.{kk}", SCHEMA[k][kk], vv)
    _cross_checks(cfg)
    return cfg


def _cross_checks(cfg):
    m, t, d = cfg["model"], cfg["train"], cfg["data"]
    if m["type"] == "baseline" and len(m["hidden"]) != 1:
        raise ConfigError(f"model.hidden: the baseline has one hidden width, got {m['hidden']!r}")
    if t["early_stopping"] and not d["validation_split"]:
        raise ConfigError("train.early_stopping: needs a validation set (data.validation_split > 0); "
                          "the test split is never used for validation")
    if d["task"] == "regression" and t["loss"] == "cross_entropy":
        raise ConfigError("train.loss: cross_entropy needs class labels; data.task = 'regression' trains with 'mse'")
    if m["type"] == "attention" and m["embed_dim"] % m["heads"]:
        raise ConfigError(f"model.heads: must divide model.embed_dim ({m['embed_dim']}), got {m['heads']}")
    if t["nesterov"] and not t["momentum"]:
        raise ConfigError("train.nesterov: needs train.momentum > 0")
    if t["scheduler"] == "plateau" and t["warmup_epochs"]:
        raise ConfigError("train.warmup_epochs: not supported with scheduler = 'plateau'")
    name = t["backend"].split(":", 1)[0]
    known = ("auto",) + registry.names()  # registered backends, plug-ins included
    if name not in known:
        raise ConfigError(f"train.backend: expected one of {', '.join(known)} (optionally with ':device'), "
                          f"got {t['backend']!r}")


def describe_keys() -> list:
    """Rows ``(key, type, default, meaning)`` for every key (the README's table)."""
    rows = []
    for k, v in SCHEMA.items():
        items = v.items() if isinstance(v, dict) else [(None, v)]
        for kk, spec in items:
            rows.append((k if kk is None else f"{k}.{kk}", spec.type, spec.default, spec.doc))
    return rows


def markdown_table() -> str:
    """The README's table of config keys: key, type or allowed values, default, meaning."""
    import json

    lines = ["| key | type / values | default | meaning |", "|---|---|---|---|"]
    for key, kind, default, doc in describe_keys():
        sec, _, sub = key.partition(".")
        spec = SCHEMA[sec][sub] if sub else SCHEMA[sec]
        values = ("one of " + ", ".join(f"`{c}`" for c in spec.choices)) if spec.choices else kind
        lines.append(f"| `{key}` | {values} | `{json.dumps(default)}` | {doc} |")
    return "\n".join(lines)

