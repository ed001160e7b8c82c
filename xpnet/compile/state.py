"""The state tree of a step: every array (and optimiser number) reachable from its roots (the model,
the optimiser, the step function's closure), each with the *path* that reaches it from a root.

A traced step reads its inputs through these paths and writes back what the step left at them
(``p.grad``, a reassigned ``module.running_mean``, optimiser moments, ``state["step"]``), found by
walking the tree again after the traced call. Nothing here knows the engine's classes: the walk goes
through dicts, lists, tuples, instance ``__dict__`` and ``__slots__``; it does not enter modules,
classes, functions, random generators or backend descriptions.
"""
from __future__ import annotations

import types

_ATOMS = (int, float, bool, str, bytes, complex, type(None), range, slice)
_MAX_OBJECTS = 200_000


def _opaque(obj) -> bool:
    if isinstance(obj, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                        types.CodeType, types.FrameType, types.GeneratorType)):
        return True
    mod = type(obj).__module__ or ""
    name = type(obj).__name__
    if name in ("Generator", "Backend", "RLock", "Lock", "local", "Thread", "Event", "Condition", "EpochProgress",
                "DataLoader", "ArrayDataset", "History", "Context"):
        return True
    return mod.split(".", 1)[0] in _OPAQUE_PACKAGES or mod.split(".", 1)[0] in _libraries()


# infrastructure never holding a step's state; the array libraries' own objects (generators, devices,
# streams) are opaque too (their arrays are recognised before this test)
_OPAQUE_PACKAGES = frozenset({"threading", "_thread", "weakref", "logging", "io"})


def _libraries() -> tuple:
    from ..backend.ops import library_modules

    return library_modules()


def _slots(cls):
    out = []
    for k in cls.__mro__:
        s = k.__dict__.get("__slots__", ())
        if isinstance(s, str):
            s = (s,)
        out.extend(n for n in s if n not in ("__weakref__", "__dict__"))
    return out


class Location:
    """Where a value lives: ``container`` and ``key`` (``kind`` ``"attr"``, ``"slot"``, ``"item"`` or
    ``"tuple"``: element ``index`` of the tuple stored at the parent), the path from the root and the
    owner category (``"optim"`` for numbers in the optimiser's dicts, ``"module"`` for numbers in
    objects' attributes)."""

    __slots__ = ("container", "key", "kind", "path", "owner", "index")

    def __init__(self, container, key, kind, path, owner, index=None):
        self.container, self.key, self.kind, self.path, self.owner, self.index = container, key, kind, path, owner, index

    def get(self):
        c, k = self.container, self.key
        v = c[k] if self.kind == "item" else (c.__dict__[k] if self.kind == "attr" else getattr(c, k))
        return v

    def set(self, value):
        c, k = self.container, self.key
        if self.kind == "item":
            c[k] = value
        elif self.kind == "attr":
            c.__dict__[k] = value
        else:
            object.__setattr__(c, k, value)


def walk(roots, is_array):
    """``(arrays, numbers)``: lists of (Location, value) for every array and every int/float found
    from ``roots`` (first path wins for an object reached twice; an array reached at several paths
    is listed at each: aliases)."""
    arrays, numbers = [], []
    seen = set()
    import collections

    stack = collections.deque((r, (("root", i),), "module") for i, r in enumerate(roots))
    count = 0
    while stack:  # breadth first: the shortest path to each object (model.fc.weight, not a cache's)
        obj, path, owner = stack.popleft()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        count += 1
        if count > _MAX_OBJECTS:
            raise RecursionError(f"the state tree has more than {_MAX_OBJECTS} objects")
        if hasattr(obj, "param_groups") and hasattr(obj, "step"):
            owner = "optim"
        children = []
        t = type(obj)
        if t is dict or isinstance(obj, dict):
            children = [(obj, k, "item", v) for k, v in obj.items()]
        elif t is list:
            children = [(obj, i, "item", v) for i, v in enumerate(obj)]
        elif t is tuple:  # read-only: arrays directly inside are not locations, objects inside are walked
            for i, v in enumerate(obj):
                if not isinstance(v, _ATOMS) and not is_array(v) and not _opaque(v):
                    stack.append((v, path + (("item", i),), owner))
            continue
        else:
            d = getattr(obj, "__dict__", None)
            if isinstance(d, dict):
                children = [(obj, k, "attr", v) for k, v in d.items()]
            for s in _slots(t):
                try:
                    v = object.__getattribute__(obj, s)
                except AttributeError:
                    continue
                children.append((obj, s, "slot", v))
        for c, k, kind, v in children:
            p = path + ((kind, k),)
            if is_array(v):
                arrays.append((Location(c, k, kind, p, owner), v))
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                if owner == "optim" and isinstance(c, dict) or owner == "module" and kind == "attr":
                    numbers.append((Location(c, k, kind, p, owner), v))
            elif type(v) is tuple and owner == "optim" and isinstance(c, dict) and v and all(
                    isinstance(e, (int, float)) and not isinstance(e, bool) for e in v):
                numbers.append((Location(c, k, kind, p, owner, index="tuple"), v))
            elif not isinstance(v, _ATOMS) and not _opaque(v) and id(v) not in seen:
                stack.append((v, p, owner))
    return arrays, numbers


def path_source(path, root_names, names):
    """Python source reading ``path`` (``r0.__dict__['fc'].data``...) for generated replay code; key
    objects that have no literal go into ``names``."""
    src = ""
    for kind, k in path:
        if kind == "root":
            src = root_names(k)
        elif kind == "item":
            if type(k) in (str, int):
                src += f"[{k!r}]"
            else:
                key = f"_k{len(names)}"
                names[key] = k
                src += f"[{key}]"
        elif kind == "attr":
            src += f".__dict__[{k!r}]"
        elif kind == "slot":
            src += f".{k}"
        else:
            return None
    return src
