"""Config sources: defaults, TOML files, packaged config names, dicts; dotted overrides (``--set``)."""
from __future__ import annotations

import copy
import pathlib
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .schema import SCHEMA, ConfigError, model_from_string, validate


def config_dirs() -> list:
    """Folders holding the packaged configs: ``xpnet/configs`` in an installed package (the wheel
    copies the repository's ``configs/`` there), else the repository's ``configs/`` folder."""
    here = pathlib.Path(__file__).resolve().parent.parent
    dirs = [here / "configs"]
    if (here.parent / "pyproject.toml").is_file():  # a source checkout
        dirs.append(here.parent / "configs")
    return [d for d in dirs if d.is_dir()]


def list_configs() -> dict:
    """Packaged config names (``"mnist1d_best"``, ``"experiments/..."``) mapped to their files."""
    out = {}
    for d in reversed(config_dirs()):
        for p in sorted(d.rglob("*.toml")):
            out[p.relative_to(d).with_suffix("").as_posix()] = p
    return dict(sorted(out.items()))


def resolve_config(source) -> pathlib.Path:
    """The file of ``source``: an existing path, or the name of a packaged config."""
    p = pathlib.Path(source)
    if p.is_file():
        return p
    packaged = list_configs()
    name = p.as_posix().removesuffix(".toml").removeprefix("configs/")
    if name in packaged:
        return packaged[name]
    raise FileNotFoundError(f"config: no such file or packaged config {str(source)!r}; packaged configs: "
                            f"{', '.join(packaged) or 'none'} (xpnet configs lists them)")


def read_toml(path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def load_config(source=None) -> dict:
    """A full, validated config from ``source``: None (the defaults), a path to a TOML file, the name of
    a packaged config (``"mnist1d_best"``; ``xpnet configs`` lists them) or a dict of tables
    (``{"train": {"lr": 0.1}}``). Unknown keys and wrong types raise :class:`ConfigError` naming the key."""
    if source is None:
        return validate({})
    if isinstance(source, dict):
        return validate(copy.deepcopy(source))
    if not isinstance(source, (str, pathlib.Path)):
        raise TypeError(f"load_config: expected None, a path, a packaged config name or a dict, got "
                        f"{type(source).__name__}")
    path = resolve_config(source)
    try:
        return validate(read_toml(path))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def parse_override(text: str):
    """``"train.lr=1e-3"`` → ``("train.lr", 0.001)``: the value in TOML syntax (``true``, ``[64, 32]``,
    ``"adam"``); a value TOML cannot read is taken as a bare string (``data.dataset=path/to/folder``)."""
    if "=" not in text:
        raise ConfigError(f"--set: expected key=value (for example train.lr=1e-3), got {text!r}")
    key, value = (s.strip() for s in text.split("=", 1))
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key, parsed


def apply_overrides(cfg: dict, overrides) -> dict:
    """A new validated config: ``cfg`` with ``overrides`` (``{"train.lr": 0.1, "model.hidden": [64]}``,
    or a list of ``"key=value"`` strings) applied. Keys are dotted (``section.key``, or ``name``,
    ``description``, ``model`` = ``"baseline"``/``"mlp:W1,W2"``)."""
    if isinstance(overrides, (list, tuple)):
        overrides = dict(parse_override(o) for o in overrides)
    out = validate(copy.deepcopy(cfg))
    for key, value in overrides.items():
        section, _, sub = key.partition(".")
        if section not in SCHEMA:
            raise ConfigError(f"{key}: unknown key; valid sections: {', '.join(sorted(SCHEMA))}")
        if not sub:
            if section == "model" and isinstance(value, str):
                out["model"] = validate({"model": model_from_string(value)})["model"]
            elif isinstance(SCHEMA[section], dict):
                raise ConfigError(f"{key}: name a key inside it, e.g. {section}.{next(iter(SCHEMA[section]))}")
            else:
                out[section] = value
            continue
        if not isinstance(SCHEMA[section], dict) or sub not in SCHEMA[section]:
            valid = sorted(SCHEMA[section]) if isinstance(SCHEMA[section], dict) else []
            raise ConfigError(f"{key}: unknown key; valid keys in [{section}]: {', '.join(valid)}")
        out[section][sub] = value
    return validate(out)
