"""The plan: a trace turned into straight-line Python over real arrays, plus what a replay needs.

Building a plan (:func:`build`):

1. *Dead code*: operations whose results nothing uses are dropped, except in-place writes and random
   draws (a replay must advance the random stream exactly as eager does).
2. *Constants*: arrays that depend on no input (``xp.arange``, a cached one-hot row) and that nothing
   writes into are captured once; those written into (scratch buffers) are copied fresh per replay.
3. *Signature*: a canonical form (functions, argument templates, scalars, paths) used to check that
   two consecutive traces recorded the same program (:func:`same`): a Python number or an array
   created outside the traced namespace that changes between steps would otherwise be baked in.
4. *Code*: one Python function (:func:`compile_plan`) that reads the inputs through their paths,
   checks the guards, runs the operations in the recorded order and writes results back: no Tensor,
   graph or ``Function`` object is created on replay.
"""
from __future__ import annotations

import math

from .buffers import Slot
from .scalars import read_vars
from .scalars import render as render_expr
from .state import path_source
from .tracer import Op, Ref, SymRef

MISS = object()  # a replay whose guards failed


class Plan:
    """Everything a replay needs (see the module docstring)."""

    def __init__(self):
        self.ops: list = []
        self.inputs: list = []        # (var, path, shape, dtype, type, aliases)
        self.syms: list = []          # (slot, path, index_in_tuple or None, kind)
        self.consts: dict = {}        # var -> (real, mode: "ref" | "copy")
        self.writebacks: list = []    # (path, ("var", n) | ("none",) | ("sym", expr, type) | ("tuple", [...]) | ("delta", d))
        self.sym_guards: list = []    # (expr, value)
        self.output = None            # template
        self.counts = {}
        self.fn = None
        self.source = ""
        self.live = set()             # variables read after the ops (outputs, write-backs, guards)
        self.fusion = None            # the fusion target applied ("cuda", "numba") or None
        self.buffers = None           # buffers.Buffers: preallocated results (NumPy), or None


def _refs(obj, out):
    t = type(obj)
    if t is Ref:
        out.append(obj.n)
    elif t is SymRef:
        read_vars(obj.expr, out)
    elif t in (tuple, list):
        for o in obj:
            _refs(o, out)
    elif t is dict:
        for o in obj.values():
            _refs(o, out)
    elif t is slice:
        _refs(obj.start, out)
        _refs(obj.stop, out)
        _refs(obj.step, out)
    return out


def op_refs(op):
    return _refs(op.args, []) + _refs(op.kwargs, [])


def prune(ops, live_vars):
    """Keep ops whose outputs are needed, every in-place write and every random draw."""
    needed = set(live_vars)
    kept = []
    for op in reversed(ops):
        if op.inplace is not None or op.kind == "random" or any(o in needed for o in op.outs):
            kept.append(op)
            needed.update(op_refs(op))
    kept.reverse()
    return kept, needed


# operations whose result may share memory with an argument (a view)
VIEW_OPS = {"__getitem__", "reshape", "view", "transpose", "swapaxes", "squeeze", "unsqueeze", "expand", "permute",
            "permute_dims", "moveaxis", "ravel", "matrix_transpose", "T", "mT", "real", "imag", "diagonal",
            "as_strided", "astype", "asarray", "broadcast_to", "broadcast_arrays", "split", "unbind", "chunk",
            "narrow", "select", "view_as", "expand_dims", "contiguous", "detach", "to", "flatten", "unstack",
            "squeeze_", "unsqueeze_", "array", "ascontiguousarray", "asanyarray", "flip", "rot90", "diag",
            "reshape_as", "expand_as", "__array_namespace__", "get", "copy"}


def tainted(ops):
    """Variables an in-place write may reach: the written one and, through operations that may return
    a view (:data:`VIEW_OPS`), the arrays it is a view of."""
    producer = {}
    for op in ops:
        for o in op.outs:
            if op.inplace is None and op.name() in VIEW_OPS:
                producer[o] = op
    out = set()
    stack = [op.inplace for op in ops if op.inplace is not None]
    for op in ops:  # a kernel that returned nothing wrote into its arguments: any of them, unless it
        # names the ones it writes (``fn.xpnet_writes``: argument positions)
        if op.kind == "call" and op.inplace is not None and op.outs == (op.inplace,) and not isinstance(op.fn, str):
            writes = getattr(op.fn, "xpnet_writes", None)
            if writes is None:
                stack.extend(op_refs(op))
            else:
                stack.extend(r for i in writes if i < len(op.args) for r in _refs(op.args[i], []))
    while stack:
        v = stack.pop()
        if v in out:
            continue
        out.add(v)
        p = producer.get(v)
        if p is not None:
            stack.extend(op_refs(p))
    return out


def fold_constants(ops, inputs, consts, real_of):
    """Ops that read no input (transitively), draw nothing and write nothing become constants."""
    dynamic = set(inputs)
    taint = tainted(ops)
    kept, folded = [], {}
    for op in ops:
        refs = op_refs(op)
        if op.kind != "random" and op.inplace is None and not any(r in dynamic for r in refs) and not any(
                o in taint for o in op.outs) and op.outs:
            for o in op.outs:
                folded[o] = real_of[o]
            continue
        dynamic.update(op.outs)
        kept.append(op)
    return kept, folded, taint


class NotHoistable(Exception):
    """A guard reads a value that cannot be computed before the step's writes."""


def hoistable(ops, vars_):
    """The ops computing ``vars_``, in order, if they are pure and read nothing the step writes."""
    producer = {o: op for op in ops for o in op.outs if op.inplace is None}
    cone, stack, seen = set(), list(vars_), set()
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        op = producer.get(v)
        if op is not None:
            if op.kind == "random":
                raise NotHoistable("a guard depends on a random draw")
            cone.add(id(op))
            stack.extend(op_refs(op))
    taint = tainted(ops)
    if seen & taint:
        raise NotHoistable("a guard reads a value that the step writes in place")
    return [op for op in ops if id(op) in cone]


# --------------------------------------------------------------------------------------------
# rendering
class _Names(dict):
    def add(self, obj, prefix="_g"):
        for k, v in self.items():
            if v is obj and k.startswith(prefix):
                return k
        key = f"{prefix}{len(self)}"
        self[key] = obj
        return key


def _sym_slot(i):
    return f"s{i}"


def render(obj, names):
    t = type(obj)
    if t is Ref:
        return f"v{obj.n}"
    if t is SymRef:
        return render_expr(obj.expr, names, _sym_slot)
    if t is Slot:
        return f"B[{obj.index}]"
    if t is bool or obj is None or t is int or t is str:
        return repr(obj)
    if t is float:
        return repr(obj) if math.isfinite(obj) else names.add(obj)
    if obj is Ellipsis:
        return "..."
    if t is tuple:
        inner = ", ".join(render(o, names) for o in obj)
        return f"({inner},)" if obj else "()"
    if t is list:
        return "[" + ", ".join(render(o, names) for o in obj) + "]"
    if t is dict and all(type(k) is str for k in obj):
        return "{" + ", ".join(f"{k!r}: {render(v, names)}" for k, v in obj.items()) + "}"
    if t is slice:
        return f"slice({render(obj.start, names)}, {render(obj.stop, names)}, {render(obj.step, names)})"
    return names.add(obj)


_BINOPS = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__floordiv__": "//",
           "__mod__": "%", "__pow__": "**", "__matmul__": "@", "__and__": "&", "__or__": "|", "__xor__": "^",
           "__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=", "__eq__": "==", "__ne__": "!="}
_IOPS = {f"__i{k[2:]}": v + "=" for k, v in _BINOPS.items() if k[2:-2] in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor")}
_UNOPS = {"__neg__": "-", "__pos__": "+", "__invert__": "~"}


def render_op(op, names):
    """One line of replay code for ``op``."""
    args = op.args
    kw = "".join(f", {k}={render(v, names)}" for k, v in op.kwargs.items())
    if op.multi:
        lhs = ", ".join(f"v{o}" for o in op.outs) + ","
    elif op.outs:
        lhs = f"v{op.outs[0]}"
    else:
        lhs = "_"
    if op.kind == "setitem":
        return f"{render(args[0], names)}[{render(args[1], names)}] = {render(args[2], names)}"
    if op.kind == "getattr":
        return f"{lhs} = {render(args[0], names)}.{op.fn}"
    if op.kind == "method":
        name = op.fn
        self_src = render(args[0], names)
        rest = [render(a, names) for a in args[1:]]
        if not op.kwargs:
            if name in _IOPS and len(rest) == 1 and op.inplace is not None:
                return f"{self_src} {_IOPS[name]} {rest[0]}"
            if name in _BINOPS and len(rest) == 1:
                return f"{lhs} = {self_src} {_BINOPS[name]} {rest[0]}"
            if name.startswith("__r") and f"__{name[3:]}" in _BINOPS and len(rest) == 1:
                return f"{lhs} = {rest[0]} {_BINOPS['__' + name[3:]]} {self_src}"
            if name in _UNOPS and not rest:
                return f"{lhs} = {_UNOPS[name]}{self_src}"
            if name == "__getitem__" and len(rest) == 1:
                return f"{lhs} = {self_src}[{rest[0]}]"
        call = f"{self_src}.{name}({', '.join(rest)}{kw})"
        if op.inplace is not None and not op.outs[0:1] == (op.inplace,):
            return call
        return f"{lhs} = {call}" if op.outs else call
    fn = names.add(op.fn, "_F")
    call = f"{fn}({', '.join(render(a, names) for a in args)}{kw})"
    if op.inplace is not None and (not op.outs or op.outs == (op.inplace,)):
        return call
    return f"{lhs} = {call}" if op.outs else call


def _wb_target(path, names, roots):
    """Source of the assignment target for ``path``."""
    *parent, (kind, k) = path
    src = path_source(tuple(parent), roots, names)
    if src is None:
        return None
    if kind == "item":
        if type(k) in (str, int):
            return f"{src}[{k!r}]"
        return f"{src}[{names.add(k, '_k')}]"
    if kind == "attr":
        return f"{src}.__dict__[{k!r}]"
    if kind == "slot":
        return f"{src}.{k}"
    return None


def render_output(tpl, names):
    kind = tpl[0]
    if kind == "var":
        return f"v{tpl[1]}"
    if kind == "tensor":
        return f"{names.add(tpl[2], '_T')}(v{tpl[1]})"
    if kind == "seq":
        inner = ", ".join(render_output(t, names) for t in tpl[2])
        return f"{tpl[1].__name__}(({inner},))" if tpl[2] else f"{tpl[1].__name__}()"
    if kind == "dict":
        return "{" + ", ".join(f"{names.add(k, '_k')}: {render_output(v, names)}" for k, v in tpl[1]) + "}"
    if kind == "sym":
        return f"{tpl[2].__name__}({render_expr(tpl[1], names, _sym_slot)})"
    return names.add(tpl[1], "_o")


def compile_plan(plan: Plan, root_count: int):
    """Generate and compile the replay function ``replay(R) -> outputs or MISS`` (``R``: the roots)."""
    names = _Names()
    names["MISS"] = MISS
    roots = lambda i: f"R[{i}]"  # noqa: E731
    lines = ["def replay(R):", "    try:"]
    for var, path, shape, dtype, typ, aliases in plan.inputs:
        src = path_source(path, roots, names)
        lines.append(f"        v{var} = {src}")
        T = names.add(typ, "_t")
        D = names.add(dtype, "_d")
        lines.append(f"        if type(v{var}) is not {T} or v{var}.shape != {shape!r} or "
                     f"(v{var}.dtype is not {D} and v{var}.dtype != {D}): return MISS")
        for a in aliases:
            lines.append(f"        if {path_source(a, roots, names)} is not v{var}: return MISS")
    for slot, path, index, kind in plan.syms:
        src = path_source(path, roots, names)
        lines.append(f"        s{slot} = {src}" + (f"[{index}]" if index is not None else ""))
    lines.append("    except (KeyError, AttributeError, IndexError, TypeError):")
    lines.append("        return MISS")
    static = [(e, v) for e, v in plan.sym_guards if not read_vars(e)]
    dynamic = [(e, v) for e, v in plan.sym_guards if read_vars(e)]
    for expr, value in static:
        lines.append(f"    if ({render_expr(expr, names, _sym_slot)}) != {render(value, names)}: return MISS")
    for var, (real, mode) in plan.consts.items():
        c = names.add(real, "_c")
        if mode == "copy":
            lines.append(f"    v{var} = _copy({c})")
        else:
            lines.append(f"    v{var} = {c}")
    if plan.buffers is not None:
        lines.append("    B = _buffers()")
    ops = plan.ops
    if dynamic:  # guards on values read from host arrays: computed first, before any write
        cone = hoistable(ops, [v for e, _ in dynamic for v in read_vars(e)])
        for op in cone:
            lines.append("    " + render_op(op, names))
        for expr, value in dynamic:
            lines.append(f"    if ({render_expr(expr, names, _sym_slot)}) != {render(value, names)}: return MISS")
        ids = {id(op) for op in cone}
        ops = [op for op in ops if id(op) not in ids]
    for op in ops:
        lines.append("    " + render_op(op, names))
    for path, what in plan.writebacks:
        tgt = _wb_target(path, names, roots)
        if what[0] == "var":
            lines.append(f"    {tgt} = v{what[1]}")
        elif what[0] == "none":
            lines.append(f"    {tgt} = None")
        elif what[0] == "sym":
            lines.append(f"    {tgt} = {what[2].__name__}({render_expr(what[1], names, _sym_slot)})")
        elif what[0] == "tuple":
            parts = ", ".join(f"{tp.__name__}({render_expr(e, names, _sym_slot)})" for e, tp in what[1])
            lines.append(f"    {tgt} = ({parts},)")
        elif what[0] == "delta":
            lines.append(f"    {tgt} = {tgt} + {what[1]!r}")
        elif what[0] == "const":
            lines.append(f"    {tgt} = {names.add(what[1], '_o')}")
    lines.append(f"    return {render_output(plan.output, names)}")
    src = "\n".join(lines)
    g = dict(names)
    g["_copy"] = _copy
    if plan.buffers is not None:
        g["_buffers"] = plan.buffers.get
    import math as _m
    import operator as _op

    for n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "lt", "le", "gt", "ge", "eq", "ne", "neg",
              "pos", "abs"):
        g[f"_op_{n}"] = getattr(_op, n)
    for n in dir(_m):
        g[f"_math_{n}"] = getattr(_m, n)
    exec(compile(src, "<xpnet.compile replay>", "exec"), g)
    plan.fn = g["replay"]
    plan.source = src
    return plan.fn


def _copy(x):
    import array_api_compat

    return array_api_compat.array_namespace(x).asarray(x, copy=True)
