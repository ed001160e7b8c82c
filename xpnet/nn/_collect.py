"""``collect``: a package ``__init__`` that exports each of its modules' ``__all__``, so adding a
layer file never means editing the package's import list."""
from __future__ import annotations

import importlib
import pkgutil


def collect(package: str, path, namespace: dict) -> list:
    """Import every module under ``path`` (in name order, ``_private`` ones skipped), bind it and each
    name in its ``__all__`` into ``namespace``; return the public names. Two modules exporting the same
    name is an error, not a silent override."""
    names, owner = [], {}
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        namespace.setdefault(info.name, module)
        for name in getattr(module, "__all__", ()):
            if name in owner:
                raise ImportError(f"{package}: {name!r} is exported by both {owner[name]} and {info.name}")
            owner[name] = info.name
            namespace[name] = getattr(module, name)
            names.append(name)
    return names
