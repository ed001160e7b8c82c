"""Experiment files: a ``base`` train config and one kind of study, every dotted key validated.

```toml
name = "report000-lr"
description = "..."
seeds = [0, 1, 2]              # every variant runs once per seed (train.seed); tables give mean ± sd
metric = "validation_accuracy" # what "best" and adopt_if_better compare (default: validation accuracy,
                               # or validation_r2 for regression); "*_loss", mae, rmse, mse: lower is better
base = "configs/report000.toml"   # or inline [base.data], [base.model], [base.train] tables
[grid]                         # cartesian product of the lists
"train.lr" = [0.1, 0.01]
# or [vary]: one factor at a time around the base; a factor may be named:
#   [vary.depth] key = "model.hidden", values = [[128], [128, 128]]
# or [[steps]] name = "...", set = {"model.norm" = "batchnorm"}, adopt_if_better = true (cumulative)
# or [[variants]] name = "...", set = {...}
```
"""
from __future__ import annotations

import copy
import pathlib
import sys
from dataclasses import dataclass, field

from ..config import ConfigError
from ._api import apply_overrides, load_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KINDS = ("grid", "vary", "steps", "variants")
_TOP = {"name", "description", "note", "seeds", "metric", "base", "set", "adopt_if_better"} | set(KINDS)
_STEP_KEYS = {"name", "set", "adopt_if_better", "description"}
_VARIANT_KEYS = {"name", "set", "description"}
LOWER_IS_BETTER = ("loss", "mae", "rmse", "mse", "seconds")


@dataclass
class Spec:
    """A parsed, validated experiment file."""
    name: str
    kind: str
    base: dict
    seeds: list
    metric: str
    study: object
    description: str = ""
    note: str = ""
    adopt_if_better: bool = False
    source: str | None = None
    raw: dict = field(default_factory=dict)

    @property
    def higher_is_better(self) -> bool:
        return not any(self.metric.endswith(s) for s in LOWER_IS_BETTER)


def _err(where, msg):
    return ValueError(f"{where}: {msg}")


def _check_overrides(base, overrides, where):
    """Apply to the base config, which validates every key and value (the config package's rules)."""
    if not isinstance(overrides, dict):
        raise _err(where, f"expected a table of dotted keys, got {type(overrides).__name__}")
    for k in overrides:
        if k.split(".")[0] == "train" and k.split(".", 1)[1:] == ["seed"]:
            raise _err(where, "train.seed is set by `seeds = [...]`; do not override it")
    try:
        return apply_overrides(base, overrides)
    except (KeyError, TypeError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        raise type(e)(f"{where}: {msg}") from None


def _flatten_inline(table, prefix=""):
    """Dotted keys may be written as nested TOML tables: {"train": {"lr": 0.1}} → {"train.lr": 0.1}."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key.split(".")[0] in ("data", "model", "train") and "." not in key:
            out.update(_flatten_inline(v, key + "."))
        else:
            out[key] = v
    return out


def parse_spec(raw: dict, source=None) -> Spec:
    """Validate a dict shaped like an experiment file and return a :class:`Spec` (every dotted key
    is checked against the config schema; a typo is an error naming the key).

    >>> from xpnet.experiments import parse_spec
    >>> spec = parse_spec({"name": "lr", "seeds": [0, 1], "base": {"model": {"hidden": [32]}},
    ...                    "grid": {"train.lr": [0.1, 0.01]}})
    >>> spec.kind, spec.seeds, spec.metric
    ('grid', [0, 1], 'validation_accuracy')
    """
    where = f"experiment {source}" if source else "experiment"
    if not isinstance(raw, dict):
        raise TypeError(f"{where}: expected a table, got {type(raw).__name__}")
    unknown = set(raw) - _TOP
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; valid keys: {sorted(_TOP)}")
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        raise ValueError(f"{where}: expected exactly one study table out of [grid], [vary], [[steps]], [[variants]], "
                         f"got {kinds or 'none'}")
    kind = kinds[0]
    base_src = raw.get("base")
    if isinstance(base_src, str) and source and not pathlib.Path(base_src).exists():
        rel = pathlib.Path(source).parent / base_src
        if rel.exists():
            base_src = str(rel)
    try:
        base = load_config(base_src)
    except (KeyError, TypeError, ValueError, FileNotFoundError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        raise type(e)(f"{where}: base: {msg}") from None
    if "set" in raw:
        base = _check_overrides(base, _flatten_inline(raw["set"]), f"{where}: set")
    seeds = raw.get("seeds", [base["train"].get("seed", 0)])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise TypeError(f"{where}: seeds: expected a non-empty list of ints, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{where}: seeds: repeated values in {seeds}")
    regression = base["data"].get("task") == "regression" or base["train"].get("loss") == "mse"
    metric = raw.get("metric", "validation_r2" if regression else "validation_accuracy")
    if not isinstance(metric, str):
        raise TypeError(f"{where}: metric: expected a column name, got {metric!r}")
    adopt_default = raw.get("adopt_if_better", False)
    if not isinstance(adopt_default, bool):
        raise TypeError(f"{where}: adopt_if_better: expected true or false, got {adopt_default!r}")
    body = raw[kind]
    if kind in ("grid", "vary"):
        if not isinstance(body, dict) or not body:
            raise ValueError(f"{where}: [{kind}]: expected a table of dotted keys to lists of values")
        study = {}
        named = {k: v for k, v in body.items() if isinstance(v, dict) and "key" in v}
        plain = _flatten_inline({k: v for k, v in body.items() if k not in named})
        entries = [(k, k, v) for k, v in plain.items()]
        for label, item in named.items():  # [vary.depth] key = "model.hidden", values = [...]
            extra = set(item) - {"key", "values"}
            if extra:
                raise ConfigError(f"{where}: [{kind}.{label}]: unknown keys {sorted(extra)}; valid keys: key, values")
            entries.append((label, item["key"], item.get("values")))
        for label, key, values in entries:
            if not isinstance(values, list) or not values:
                raise TypeError(f"{where}: [{kind}] {label}: expected a non-empty list of values, got {values!r}")
            for v in values:
                _check_overrides(base, {key: v}, f"{where}: [{kind}] {label} = {v!r}")
            study[label] = (key, values)
    else:
        if not isinstance(body, list) or not body:
            raise ValueError(f"{where}: [[{kind}]]: expected a list of tables with name and set")
        allowed = _STEP_KEYS if kind == "steps" else _VARIANT_KEYS
        study, names, cfg = [], set(), base
        for i, item in enumerate(body):
            w = f"{where}: [[{kind}]] #{i + 1}"
            if not isinstance(item, dict):
                raise TypeError(f"{w}: expected a table, got {item!r}")
            extra = set(item) - allowed
            if extra:
                raise ConfigError(f"{w}: unknown keys {sorted(extra)}; valid keys: {sorted(allowed)}")
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError(f"{w}: name: expected a non-empty string")
            if name in names:
                raise ValueError(f"{w}: name {name!r} is used twice")
            names.add(name)
            ov = _flatten_inline(item.get("set", {}))
            # steps are cumulative: validate each against the config it will be applied to
            cfg = _check_overrides(cfg if kind == "steps" else base, ov, f"{w} ({name})")
            entry = {"name": name, "set": ov}
            if kind == "steps":
                a = item.get("adopt_if_better", adopt_default)
                if not isinstance(a, bool):
                    raise TypeError(f"{w}: adopt_if_better: expected true or false, got {a!r}")
                entry["adopt_if_better"] = a
            study.append(entry)
    name = raw.get("name") or (pathlib.Path(source).stem if source else "experiment")
    return Spec(name=str(name), kind=kind, base=base, seeds=list(seeds), metric=metric, study=study,
                description=str(raw.get("description", "")), note=str(raw.get("note", "")),
                adopt_if_better=adopt_default, source=None if source is None else str(source), raw=copy.deepcopy(raw))


def load_spec(spec) -> Spec:
    """A :class:`Spec`, a dict, or a path to a TOML experiment file (or a packaged one: ``xpnet configs``
    lists them).

    >>> from xpnet.experiments import load_spec
    >>> load_spec("experiments/report000_norm").kind
    'variants'
    """
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    path = pathlib.Path(spec)
    if not path.exists():  # a packaged experiment: "experiments/report000_norm" (xpnet configs lists them)
        from ..config import resolve_config

        name = str(spec) if str(spec).startswith(("experiments/", "configs/")) else f"experiments/{spec}"
        try:
            path = resolve_config(name)
        except (FileNotFoundError, ValueError):
            raise FileNotFoundError(f"experiment: no such file or packaged experiment {spec!r} "
                                    "(packaged ones: xpnet configs, under experiments/)") from None
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"experiment: {path} is not valid TOML: {e}") from None
    return parse_spec(raw, source=str(path))
