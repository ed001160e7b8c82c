"""``xn.compile``: trace a step once, replay it (see :mod:`xpnet.compile`)."""
from __future__ import annotations

import functools
import warnings

from ..options import get_option
from .guards import call_key, find_modules, roots_of
from . import fusion
from .buffers import preallocate
from .plan import MISS, NotHoistable, Plan, compile_plan, fold_constants, prune
from .scalars import read_vars
from .scalars import Sym, SymInt, make_input
from .state import walk
from .tracer import Ref, TArray, Trace, tracing, _local
from .tracer import Op as _Op  # noqa: F401 - re-exported for tools


class CompileWarning(UserWarning):
    """A compiled step fell back to eager execution (the message says why)."""


def _is_array(x):
    from ..backend import is_array

    return is_array(x)


class _Entry:
    """Per guard key: the traces so far and the plan; while the fused kernels are built in the
    background (:mod:`.kernel_builds`), ``plan`` is the unfused plan, ``fused`` the fused one and
    ``build`` the kernels' build."""

    __slots__ = ("plan", "previous", "traces", "fused", "build")

    def __init__(self):
        self.plan, self.previous, self.traces = None, None, 0
        self.fused, self.build = None, None

    def switch(self):
        """Replay the fused plan from now on if its kernels are built (called between replays)."""
        b = self.build
        if b is not None and b.done.is_set():
            if b.error is None:
                self.plan = self.fused
            self.fused, self.build = None, None


class CompiledFunction:
    """A step function whose calls after the first ones replay a recorded plan.

    Call sequence for each guard key (shapes and dtypes of the arguments, train/eval flags, grad mode,
    default dtype): the very first call runs eagerly (so optimiser state exists, as CUDA-graph capture
    needs), the next two are traced (each a real step) and must record the same program, then calls
    replay. ``stats`` counts eager calls, traces, replays (``unfused_replays``: those that ran the
    unfused plan while the fused kernels were built in the background, see :mod:`.kernel_builds` and
    :meth:`wait`) and guard misses; ``fallback`` holds the reason when the function runs eagerly for good.
    """

    def __init__(self, fn, state=(), warmup: int = 1, verify: bool = True):
        if not callable(fn):
            raise TypeError(f"xn.compile: fn: expected a callable (a step function or a Module), got {type(fn).__name__}")
        self.fn = fn
        self._explicit = list(state) if isinstance(state, (list, tuple)) else [state]
        self.warmup, self.verify = warmup, verify
        self.entries: dict = {}
        self.fallback = None
        self._roots = None
        self._modules = None
        self.stats = {"eager": 0, "traces": 0, "replays": 0, "misses": 0, "unfused_replays": 0}
        self.kernel_error = None  # the exception a background kernel build raised (the step stays unfused)
        functools.update_wrapper(self, fn, updated=())

    # -- public ---------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self.fallback is not None:
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        if self._roots is None:
            self._roots = roots_of(self.fn, self._explicit)
            self._modules = find_modules(self._roots)
        key = call_key(args, kwargs, self._modules)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry()
        if entry.build is not None:
            self._switch(entry)
        if entry.plan is not None:
            out = entry.plan.fn([*self._roots, [list(args), dict(kwargs)]])
            if out is not MISS:
                self.stats["replays"] += 1
                if entry.fused is not None:
                    self.stats["unfused_replays"] += 1
                return out
            self.stats["misses"] += 1
            entry.plan, entry.previous, entry.fused, entry.build = None, None, None, None
        if self.stats["eager"] < self.warmup:
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        return self._trace(entry, args, kwargs)

    @property
    def plans(self):
        """The plans made so far (one per guard key; the fused one while its kernels are still being
        built in the background)."""
        return [e.fused or e.plan for e in self.entries.values() if e.plan is not None]

    @property
    def pending(self) -> int:
        """The number of plans replayed unfused while their fused kernels are built in the background."""
        return sum(e.build is not None and e.fused is not None for e in self.entries.values())

    def wait(self, timeout=None) -> bool:
        """Block until the fused kernels of every plan are built (``timeout`` seconds at most), then
        replay the fused plans; True when none is pending. Benchmarks and tests call it before timing
        or counting; training needs no call (the step switches by itself between two replays)."""
        import time

        end = None if timeout is None else time.monotonic() + timeout
        for e in list(self.entries.values()):
            b = e.build
            if b is None:
                continue
            if not b.done.wait(None if end is None else max(0.0, end - time.monotonic())):
                return False
            self._switch(e)
        return self.pending == 0

    def _switch(self, entry):
        b = entry.build
        entry.switch()
        if b is not None and b.error is not None and self.kernel_error is None:
            self.kernel_error = b.error  # the unfused plan gives the same numbers: keep it, say why here

    def op_count(self):
        """Array operations one replay issues (the last plan's), views included."""
        p = self.plans
        return len(p[-1].ops) if p else None

    # -- tracing ----------------------------------------------------------------------------------
    def _give_up(self, reason):
        self.fallback = reason
        warnings.warn(f"xn.compile({getattr(self.fn, '__name__', 'fn')}): running eagerly from now on: {reason}",
                      CompileWarning, stacklevel=3)

    def _trace(self, entry, args, kwargs):
        argroot = [list(args), dict(kwargs)]
        roots = [*self._roots, argroot]
        trace = Trace(_is_array)
        arrays, numbers = walk(roots, _is_array)
        xp = None
        by_var: dict = {}
        before: dict = {}
        for loc, a in arrays:
            if xp is None:
                from ..backend import namespace_of

                xp = namespace_of(a)
            t = trace.wrap_input(a, loc.path)
            t = by_var.setdefault(t._n, t)
            before[loc.path] = (loc, t._n)
            loc.set(t)
        sym_before: dict = {}
        for loc, v in numbers:
            if loc.owner == "optim":
                if loc.index == "tuple":
                    syms = []
                    for j, e in enumerate(v):
                        s = make_input(e, len(trace.syms), trace)
                        trace.syms.append((loc.path, j, type(e)))
                        syms.append(s)
                    syms = tuple(syms)
                    loc.set(syms)
                    sym_before[loc.path] = (loc, syms, v)
                else:
                    s = make_input(v, len(trace.syms), trace)
                    trace.syms.append((loc.path, None, type(v)))
                    loc.set(s)
                    sym_before[loc.path] = (loc, s, v)
            else:
                sym_before[loc.path] = (loc, None, v)
        if xp is None:
            self._restore(arrays, numbers, sym_before, None)
            self._give_up("no array found in the step's state or arguments")
            return self.fn(*args, **kwargs)
        failed = None
        snapshots = {n: _device_copy(trace.real_of[n]) for n in trace.inputs}  # to undo a failed trace
        try:
            with tracing(trace, xp):
                result = self.fn(*argroot[0], **argroot[1])
        except Exception as e:  # a call the tracer cannot follow
            failed = e
        after_arrays, after_numbers = walk(roots, _is_array) if failed is None else ([], [])
        plan = None
        if failed is None and trace.untraceable is None:
            try:
                plan = self._make_plan(trace, before, sym_before, after_arrays, after_numbers, result)
            except _NotReplayable as e:
                trace.note_host_read(str(e))
        out = None if failed is not None else _to_real(result)
        self._restore(arrays + after_arrays, numbers + after_numbers, sym_before, trace)
        if failed is not None:
            for n in {op.inplace for op in trace.ops if op.inplace is not None and op.inplace in trace.inputs}:
                _copy_into(trace.real_of[n], snapshots[n])  # the state as it was before the traced call
            del snapshots
            self._give_up(f"tracing failed ({type(failed).__name__}: {failed})")
            return self.fn(*args, **kwargs)
        del snapshots
        self.stats["traces"] += 1
        if trace.untraceable is not None:
            self._give_up(trace.untraceable)
            return out
        if self.verify and entry.previous is None:
            entry.previous = plan
            return out
        if self.verify:
            diff = _difference(entry.previous, plan)
            if diff is not None:
                self._give_up(f"two consecutive traces differ ({diff}): a value the tracer cannot see changes "
                              "between steps")
                return out
        _finish_consts(entry.previous if self.verify else None, plan)
        try:
            unfused = _copy_plan(plan)
            with _kernel_types(trace, sym_before):
                fusion.apply(plan, trace, _is_array)
            preallocate(plan, trace)
            compile_plan(plan, len(roots))
            waiting = [op.fn for op in plan.ops if isinstance(getattr(op.fn, "ready", None), bool) and not op.fn.ready]
            fused = None
            if waiting and get_option("compile_fusion") is True and get_option("compile_background"):
                # bit for bit the unfused plan's results: replay that one until the kernels are built
                preallocate(unfused, trace)
                compile_plan(unfused, len(roots))
                from . import kernel_builds

                fused, plan = plan, unfused
                entry.build = kernel_builds.submit(waiting)
            else:  # "all" (results could depend on which plan ran) or compile_background=False: build now
                entry.build = None
                for k in waiting:
                    k.build()
        except NotHoistable as e:
            self._give_up(str(e))
            return out
        entry.plan, entry.previous, entry.fused = plan, None, fused
        return out

    def _restore(self, arrays, numbers, sym_before, trace):
        for loc, _ in arrays:
            try:
                v = loc.get()
            except (KeyError, AttributeError):
                continue
            if type(v) is TArray:
                loc.set(v._real)
        for loc in [loc for loc, _ in numbers] + [loc for loc, _s, _ in sym_before.values()]:
            _concretise(loc)

    def _make_plan(self, trace, before, sym_before, after_arrays, after_numbers, result):
        plan = Plan()
        writebacks = []
        seen_paths = set()
        for loc, v in after_arrays:
            seen_paths.add(loc.path)
            if type(v) is TArray and v._trace is trace:
                n = v._n
            else:
                real = v._real if type(v) is TArray else v
                n = trace._by_id.get(id(real))
                if n is None:
                    raise _NotReplayable(f"the step stored an array made outside the traced namespace at "
                                         f"{_pretty(loc.path)}")
            b = before.get(loc.path)
            if b is not None and b[1] == n:
                continue
            writebacks.append((loc.path, ("var", n)))
        for path, (loc, n) in before.items():
            if path in seen_paths:
                continue
            try:
                v = loc.get()
            except (KeyError, AttributeError):
                continue
            if v is None:
                writebacks.append((path, ("none",)))
        for loc, v in after_numbers:
            b = sym_before.get(loc.path)
            if isinstance(v, Sym) and v._tr is trace:
                if b is not None and b[1] is v:
                    continue
                writebacks.append((loc.path, ("sym", v._sx, int if isinstance(v, SymInt) else float)))
            elif type(v) is tuple and any(isinstance(e, Sym) for e in v):
                if b is not None and b[1] is v:
                    continue
                writebacks.append((loc.path, ("tuple", [(_sexpr(e), type(e)._base if isinstance(e, Sym) else type(e))
                                                        for e in v])))
            elif b is not None and b[1] is None and v != b[2]:
                if isinstance(v, int) and isinstance(b[2], int):
                    writebacks.append((loc.path, ("delta", v - b[2])))
                else:
                    writebacks.append((loc.path, ("const", v)))
            elif b is None and loc.owner == "module":
                writebacks.append((loc.path, ("const", v)))
        out_tpl = _output_template(result, trace)
        live = set(_output_vars(out_tpl)) | {w[1][1] for w in writebacks if w[1][0] == "var"}
        for e, _, _ in trace.sym_guards:
            live.update(read_vars(e))
        for w in writebacks:
            if w[1][0] == "sym":
                live.update(read_vars(w[1][1]))
        plan.live = live
        ops, needed = prune(trace.ops, live)
        ops, folded, taint = fold_constants(ops, set(trace.inputs), trace.consts, trace.real_of)
        used = set()
        for op in ops:
            from .plan import op_refs

            used.update(op_refs(op))
            used.update(op.outs)
        used |= live
        plan.ops = ops
        aliases: dict = {}
        for path, (loc, n) in before.items():
            aliases.setdefault(n, []).append(path)
        for n, path in trace.inputs.items():
            if n not in used:
                continue
            real = trace.real_of[n]
            extra = [p for p in aliases.get(n, []) if p != path]
            plan.inputs.append((n, path, tuple(real.shape), real.dtype, type(real), extra))
        for i, (path, index, _) in enumerate(trace.syms):
            plan.syms.append((i, path, index, None))
        for n, real in trace.consts.items():
            if n in used:
                plan.consts[n] = (real, "copy" if n in taint else "ref")
        for n, real in folded.items():
            if n in used:
                plan.consts[n] = (real, "ref")
        plan.writebacks = writebacks
        plan.sym_guards = [(e, v) for e, _, v in trace.sym_guards]
        plan.output = out_tpl
        plan.snapshots = {n: _host_copy(c[0]) for n, c in plan.consts.items()}
        return plan


class _NotReplayable(Exception):
    pass


def _copy_plan(plan):
    """A copy of ``plan`` whose op list fusion does not change (the other fields are shared)."""
    import copy

    c = copy.copy(plan)
    c.ops = list(plan.ops)
    return c


def _kernel_types(trace, sym_before):
    """The context in which the numba target reads the argument types of the kernels it generates
    (the trace's arrays and the values of its input scalars), or a no-op one."""
    import contextlib

    slots = []
    for path, index, _ in trace.syms:
        b = sym_before.get(path)
        v = b[2] if b is not None else None
        slots.append(v[index] if index is not None and v is not None else v)
    try:
        from . import fusion_numba
    except ImportError:
        return contextlib.nullcontext()
    return fusion_numba.trace_values(trace.real_of, slots)


def _sexpr(e):
    return e._sx if isinstance(e, Sym) else ("const", e)


def _pretty(path):
    parts = []
    for kind, k in path:
        if kind == "root":
            parts.append(f"root{k}")
        elif kind == "item":
            parts.append(f"[{k!r}]" if isinstance(k, (str, int)) else "[<obj>]")
        else:
            parts.append(f".{k}")
    return "".join(parts)


def _device_copy(x):
    from ..backend import namespace_of

    saved = getattr(_local, "trace", None)
    _local.trace = None
    try:
        return namespace_of(x).asarray(x, copy=True)
    finally:
        _local.trace = saved


def _copy_into(dst, src):
    dst[...] = src


def _host_copy(x):
    from ..backend import to_numpy

    saved = getattr(_local, "trace", None)
    _local.trace = None
    try:
        return to_numpy(x).copy()  # a host copy: trace-time only, to compare two traces
    finally:
        _local.trace = saved


def _output_template(result, trace):
    from ..tensor import Tensor

    if type(result) is TArray:
        if result._trace is not trace:
            return ("const", result._real)
        return ("var", result._n)
    if isinstance(result, Tensor):
        d = result.data
        if type(d) is TArray and d._trace is trace:
            return ("tensor", d._n, type(result))
        return ("const", result)
    if type(result) in (tuple, list):
        return ("seq", type(result), [_output_template(r, trace) for r in result])
    if type(result) is dict:
        return ("dict", [(k, _output_template(v, trace)) for k, v in result.items()])
    if isinstance(result, Sym):
        return ("sym", result._sx, int if isinstance(result, SymInt) else float)
    if _is_array(result):
        n = trace._by_id.get(id(result))
        return ("var", n) if n is not None else ("const", result)
    return ("const", result)


def _output_vars(tpl):
    kind = tpl[0]
    if kind in ("var", "tensor"):
        return [tpl[1]]
    if kind == "seq":
        return [v for t in tpl[2] for v in _output_vars(t)]
    if kind == "dict":
        return [v for _, t in tpl[1] for v in _output_vars(t)]
    return []


def _to_real(result):
    from ..tensor import Tensor

    if type(result) is TArray:
        return result._real
    if isinstance(result, Tensor):
        if type(result.data) is TArray:
            result.data = result.data._real
        return result
    if type(result) in (tuple, list):
        return type(result)(_to_real(r) for r in result)
    if type(result) is dict:
        return {k: _to_real(v) for k, v in result.items()}
    if isinstance(result, Sym):
        return result._value()
    return result


# --------------------------------------------------------------------------------------------
def _canon(plan):
    """A canonical form of a plan: variables renumbered by first appearance."""
    from .plan import Ref, SymRef

    ren: dict = {}

    def v(n):
        if n not in ren:
            ren[n] = len(ren)
        return ren[n]

    def t(obj):
        ty = type(obj)
        if ty is Ref:
            return ("ref", v(obj.n))
        if ty is SymRef:
            return ("sym", _cexpr(obj.expr, t))
        if ty in (tuple, list):
            return (ty.__name__, tuple(t(o) for o in obj))
        if ty is dict:
            return ("dict", tuple((k, t(x)) for k, x in obj.items()))
        if ty is slice:
            return ("slice", t(obj.start), t(obj.stop), t(obj.step))
        if ty in (int, float, bool, str, type(None)):
            return (ty.__name__, obj)
        return ("obj", _obj_key(obj))

    inputs = []
    for n, path, shape, dtype, typ, aliases in sorted(plan.inputs, key=lambda r: repr(r[1])):
        inputs.append((_pkey(path), v(n), shape, str(dtype)))
    consts = sorted(plan.consts)
    cvals = [(v(n), plan.consts[n][1]) for n in consts]
    ops = [(op.kind, _fn_key(op.fn), t(op.args), t(op.kwargs), tuple(v(o) for o in op.outs),
            None if op.inplace is None else v(op.inplace)) for op in plan.ops]
    wbs = sorted((_pkey(p), (w[0], v(w[1])) if w[0] == "var" else (w[0], repr(w[1:]))) for p, w in plan.writebacks)
    guards = [_cexpr(e, t) for e, val in plan.sym_guards]  # values may differ: each plan checks its own
    return {"inputs": inputs, "consts": cvals, "ops": ops, "writebacks": wbs, "guards": guards}, ren


def _cexpr(e, t=repr):
    if e[0] == "fncall":
        return ("fncall", _fn_key(e[1]), t(e[2]), t(e[3]), e[4])
    if e[0] == "read":
        return ("read", t(Ref(e[1])), e[2])
    if e[0] == "call":
        return ("call", _fn_key(e[1]), tuple(_cexpr(a, t) for a in e[2]))
    if e[0] == "const":
        return ("const", e[1] if isinstance(e[1], (int, float, bool, str)) else _obj_key(e[1]))
    return e


def _fn_key(f):
    f = getattr(f, "__wrapped__", f)
    return f if isinstance(f, str) else (getattr(f, "__module__", None), getattr(f, "__qualname__", None) or
                                         getattr(f, "__name__", None) or repr(f), id(f))


def _obj_key(o):
    try:
        hash(o)
        return ("h", type(o).__name__, o)
    except TypeError:
        return ("id", type(o).__name__, id(o))


def _pkey(path):
    return tuple((k, x if isinstance(x, (str, int)) else ("obj", id(x))) for k, x in path)


def _difference(a, b):
    """None when plans ``a`` and ``b`` record the same program (constants equal), else what differs."""
    ca, ra = _canon(a)
    cb, rb = _canon(b)
    for k in ("inputs", "ops", "writebacks", "guards", "consts"):
        if ca[k] != cb[k]:
            if k == "ops":
                for i, (x, y) in enumerate(zip(ca[k], cb[k])):
                    if x != y:
                        return f"operation {i}: {x[1]} vs {y[1]}"
                return f"{len(ca[k])} vs {len(cb[k])} operations"
            return f"{k} differ"
    inv_a = {c: n for n, c in ra.items()}
    inv_b = {c: n for n, c in rb.items()}
    for c, _ in ca["consts"]:
        na, nb = inv_a[c], inv_b[c]
        sa, sb = a.snapshots[na], b.snapshots[nb]
        if sa.shape != sb.shape or sa.dtype != sb.dtype or not ((sa == sb) | ((sa != sa) & (sb != sb))).all():
            return f"an array made outside the traced namespace changed between steps (shape {sa.shape})"
    return None


def _finish_consts(previous, plan):
    """Constants met in both traces as the same object and written into are state the walk did not
    reach: kept by reference (updated in place on replay) instead of copied."""
    if previous is None:
        return
    ca, ra = _canon(previous)
    cb, rb = _canon(plan)
    inv_a = {c: n for n, c in ra.items()}
    inv_b = {c: n for n, c in rb.items()}
    for c, _ in cb["consts"]:
        na, nb = inv_a[c], inv_b[c]
        real_b, mode = plan.consts[nb]
        if mode == "copy" and previous.consts[na][0] is real_b:
            plan.consts[nb] = (real_b, "ref")


def compile(fn=None, *, state=(), warmup: int = 1, verify: bool = True):  # noqa: A001 - the public name
    """Trace ``fn`` (a training step, or a Module for inference) once and replay it.

    ``step = xn.compile(step_fn)``: ``step_fn(*arrays or Tensors)`` runs forward, backward and the
    optimiser step; the model and optimiser it uses are found in its closure and globals (or pass
    them as ``state=(model, optimizer)``). ``xn.compile(model)`` returns a callable for inference
    (``model(x)`` under ``no_grad``). ``warmup``: eager calls before the first trace (1: optimiser state
    exists); ``verify``: trace twice and compare before replaying (catches a Python number or an array
    made outside the namespace that changes between steps).

    Replays skip Tensors, graph nodes and ``Function`` objects: they run the recorded array operations
    on the real arrays. A new argument shape, dtype, a train/eval switch or a replaced parameter
    re-traces (the last partial batch is a second plan). A host read inside the step (``float(loss)``,
    ``.item()``, branching on data) cannot be replayed: the function then runs eagerly, with one
    :class:`CompileWarning` naming the reason.
    """
    if fn is None:
        return lambda f: compile(f, state=state, warmup=warmup, verify=verify)
    from ..nn import Module

    if isinstance(fn, Module):
        return CompiledModel(fn, warmup=0 if warmup == 1 else warmup, verify=verify)
    return CompiledFunction(fn, state=state, warmup=warmup, verify=verify)


class CompiledModel(CompiledFunction):
    """``xn.compile(model)``: ``model(x)`` under ``no_grad``, traced and replayed (returns a Tensor)."""

    def __init__(self, model, warmup=0, verify=True):
        from ..autograd import no_grad

        def infer(x):
            with no_grad():
                return model(x)

        infer.__name__ = f"{type(model).__name__}.forward"
        super().__init__(infer, state=(model,), warmup=warmup, verify=verify)
        self.model = model


def enabled_default() -> bool:
    """``fit``'s default for ``compile=``: the ``compile`` option."""
    return bool(get_option("compile"))


def _concretise(loc) -> None:
    """Replace a traced runtime scalar (or a tuple holding some) stored at ``loc`` by its value."""
    try:
        v = loc.get()
    except (KeyError, AttributeError):
        return
    if isinstance(v, Sym):
        loc.set(v._value())
    elif type(v) is tuple and any(isinstance(e, Sym) for e in v):
        loc.set(tuple(e._value() if isinstance(e, Sym) else e for e in v))
