"""Guards: what must hold for a recorded plan to be replayed.

- the *call key* (checked before looking a plan up): type, shape, dtype and device of every array
  argument, the values of other arguments, the train/eval flag of every module of the state, grad
  mode and the default dtype; a new key is a new plan (the last partial batch is a second trace);
- inside the plan (generated code, :mod:`xpnet.compile.plan`): every input read through its path
  (parameters, gradients, optimiser state, buffers) still exists with the traced type, shape and
  dtype, aliases are still the same object (a parameter replaced or moved re-traces), and every
  comparison a runtime scalar took part in (``if momentum:``) gives the traced answer.
"""
from __future__ import annotations

import types

from ..autograd.engine import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..options import get_option


def _stateful(obj) -> bool:
    return (hasattr(obj, "param_groups") and hasattr(obj, "step")) or (
        hasattr(obj, "parameters") and hasattr(obj, "training")) or isinstance(obj, Tensor)


def roots_of(fn, explicit=()):
    """The objects whose arrays a step reads and writes: ``explicit`` plus the models, optimisers and
    Tensors that ``fn`` reaches through its closure, globals and default arguments (and, recursively,
    those of the functions it names)."""
    roots, seen = list(explicit), {id(o) for o in explicit}
    visited = set()

    def add(obj):
        if id(obj) not in seen and _stateful(obj):
            seen.add(id(obj))
            roots.append(obj)

    def visit(f, depth):
        if id(f) in visited or depth > 4:
            return
        visited.add(id(f))
        if isinstance(f, types.MethodType):
            add(f.__self__)
            f = f.__func__
        if not isinstance(f, types.FunctionType):
            if callable(f) and not isinstance(f, type):
                add(f)
                call = getattr(type(f), "__call__", None)
                if isinstance(call, types.FunctionType):
                    visit(call, depth + 1)
                for v in getattr(f, "__dict__", {}).values():
                    add(v)
            return
        cands = [c.cell_contents for c in (f.__closure__ or ()) if _has(c)]
        cands += list(f.__defaults__ or ()) + list((f.__kwdefaults__ or {}).values())
        g = f.__globals__
        for name in _names(f.__code__):
            if name in g:
                cands.append(g[name])
        for c in cands:
            if isinstance(c, (types.FunctionType, types.MethodType)) or (
                    callable(c) and not isinstance(c, (type, types.ModuleType, types.BuiltinFunctionType))
                    and not _stateful(c)):
                visit(c, depth + 1)
            else:
                add(c)
                if isinstance(c, (list, tuple)):
                    for e in c:
                        add(e)

    visit(fn, 0)
    return roots


def _has(cell):
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


def _names(code):
    out = list(code.co_names) + list(code.co_freevars)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out += _names(c)
    return out


def find_modules(roots):
    """Every object with a boolean ``training`` flag reachable through modules' children."""
    out, seen, stack = [], set(), list(roots)
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        d = getattr(m, "__dict__", None)
        if not isinstance(d, dict) or not isinstance(d.get("training"), bool):
            continue
        out.append(m)
        for v in d.values():
            if hasattr(v, "training") and hasattr(v, "parameters"):
                stack.append(v)
            elif isinstance(v, (list, tuple, dict)):
                for e in (v.values() if isinstance(v, dict) else v):
                    if hasattr(e, "training") and hasattr(e, "parameters"):
                        stack.append(e)
    return out


def _arg_key(a):
    shape = getattr(a, "shape", None)
    if shape is not None and hasattr(a, "dtype"):
        data = getattr(a, "data", None)
        if isinstance(a, Tensor):
            return ("T", type(data), tuple(data.shape), data.dtype, _dev(data), a.requires_grad)
        return (type(a), tuple(shape), a.dtype, _dev(a))
    if isinstance(a, (list, tuple)):
        return (type(a),) + tuple(_arg_key(x) for x in a)
    if isinstance(a, dict):
        return ("d",) + tuple((k, _arg_key(v)) for k, v in a.items())
    try:
        hash(a)
        return (type(a), a)
    except TypeError:
        return (type(a), id(a))


def _dev(a):
    d = getattr(a, "device", None)
    try:
        hash(d)
        return d
    except TypeError:
        return str(d)


def call_key(args, kwargs, modules):
    """The guard key of one call (see the module docstring)."""
    key = tuple(_arg_key(a) for a in args)
    if kwargs:
        key += tuple((k, _arg_key(v)) for k, v in sorted(kwargs.items()))
    return (key, tuple(m.__dict__["training"] for m in modules), is_grad_enabled(), get_option("default_dtype"))
