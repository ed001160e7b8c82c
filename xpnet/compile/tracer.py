"""The tracer: a step runs *for real* on :class:`TArray` proxies that wrap the backend's arrays and
record every namespace call, operator, in-place update and ``__setitem__`` into a :class:`Trace`.

Nothing here knows the engine: what is recorded is what reaches the array namespace (the module
``array_api_compat.array_namespace`` / ``Tensor._xp`` returns, whose functions are swapped for
recording ones while a trace runs, in the tracing thread only), the arrays' operators, NumPy's
``__array_ufunc__``/``__array_function__`` and PyTorch's ``__torch_function__`` protocols (native
calls on NumPy/PyTorch paths) and the backend's random draws (:data:`RANDOM_FUNCTIONS`), which are
recorded as calls that draw from the stream again on every replay (same stream as eager).

A host read of a traced value (``bool``/``float``/``int``/``item``/``__array__``/``__dlpack__``/
printing) cannot be replayed: the trace goes on with the real value and is marked untraceable with
the reason (:attr:`Trace.untraceable`), so the caller falls back to eager once, with one warning.

Values: every array of the step is a numbered variable. External arrays (parameters, gradients,
optimiser state, buffers, the batch) are *inputs*; arrays created without a traced operand
(``xp.zeros``, a cached constant) are *constants* unless an operation later writes into them.
"""
from __future__ import annotations

import sys
import threading
import types
import warnings

from .scalars import Sym, patch_math, real_math

_local = threading.local()


def active():
    """The trace running in this thread, or None."""
    return getattr(_local, "trace", None)


class Untraceable(Exception):
    """Raised inside a trace when the step cannot be traced at all (the reason is the message)."""


# --------------------------------------------------------------------------------------------
# recorded values
class Ref:
    """A reference to variable ``n`` inside an op's argument template."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return f"v{self.n}"


class SymRef:
    """A runtime scalar (learning rate, step count...) inside an op's argument template."""

    __slots__ = ("expr",)

    def __init__(self, expr):
        self.expr = expr


class Op:
    """One recorded call. ``kind``: ``"call"`` (``fn(*args, **kwargs)``), ``"method"`` (``args[0].<fn>(...)``),
    ``"setitem"``, ``"getattr"``, ``"random"``. ``outs``: variables produced (or, for in-place ops,
    the variable written); ``inplace``: the variable mutated, if any."""

    __slots__ = ("kind", "fn", "args", "kwargs", "outs", "inplace", "multi")

    def __init__(self, kind, fn, args, kwargs, outs, inplace=None, multi=False):
        self.kind, self.fn, self.args, self.kwargs, self.outs, self.inplace, self.multi = (
            kind, fn, args, kwargs, outs, inplace, multi)

    def name(self):
        f = self.fn
        return f if isinstance(f, str) else getattr(f, "__name__", type(f).__name__)

    def __repr__(self):
        return f"Op({self.kind} {self.name()} -> {self.outs})"


class Trace:
    """The record of one traced call."""

    def __init__(self, is_array):
        self.ops: list = []
        self.nvars = 0
        self.inputs: dict = {}      # var -> input key (set by the caller)
        self.consts: dict = {}      # var -> (real array, snapshot or None)
        self.produced: dict = {}    # var -> op index (created by an op)
        self.real_of: dict = {}     # var -> real array at trace time
        self._by_id: dict = {}      # id(real) -> var, for real arrays met as operands
        self._keep: list = []       # keeps real arrays alive so ids stay unique
        self.untraceable = None     # reason (first host read etc.)
        self.sym_guards: list = []  # (expr, op, other, result)
        self.syms: list = []        # input Syms
        self.is_array = is_array

    # -- variables ---------------------------------------------------------------------------
    def new_var(self, real):
        n = self.nvars
        self.nvars += 1
        self.real_of[n] = real
        return n

    def wrap_input(self, real, key):
        """A TArray for an external array (one per distinct array object)."""
        n = self._by_id.get(id(real))
        if n is not None:
            return TArray(real, self, n)
        n = self.new_var(real)
        self._by_id[id(real)] = n
        self._keep.append(real)
        self.inputs[n] = key
        return TArray(real, self, n)

    def var_of(self, x):
        """The variable of an operand: TArrays of this trace directly; any other array is a constant
        (first seen now) or a value created earlier without a traced operand."""
        if type(x) is TArray:
            if x._trace is self:
                return x._n
            x = x._real  # a proxy left over from an earlier trace: its value is a constant
        n = self._by_id.get(id(x))
        if n is None:
            n = self.new_var(x)
            self._by_id[id(x)] = n
            self._keep.append(x)
            self.consts[n] = x
        return n

    def note_host_read(self, what):
        if self.untraceable is None:
            self.untraceable = what

    # -- templates ---------------------------------------------------------------------------
    def template(self, obj):
        """``obj`` with arrays replaced by :class:`Ref` and Syms by :class:`SymRef`; also returns the
        real-valued version to execute now."""
        t = type(obj)
        if t is TArray:
            return Ref(self.var_of(obj)), obj._real
        if isinstance(obj, Sym):
            return SymRef(obj._sx), obj._value()
        if t in (int, float, bool, str, type(None), complex) or obj is Ellipsis:
            return obj, obj
        if t is tuple or t is list:
            parts = [self.template(o) for o in obj]
            return t(p[0] for p in parts), t(p[1] for p in parts)
        if t is dict:
            parts = {k: self.template(v) for k, v in obj.items()}
            return {k: p[0] for k, p in parts.items()}, {k: p[1] for k, p in parts.items()}
        if t is slice:
            a, b, c = (self.template(v) for v in (obj.start, obj.stop, obj.step))
            return slice(a[0], b[0], c[0]), slice(a[1], b[1], c[1])
        if self.is_array(obj) or (_np_scalar(obj) and id(obj) in self._by_id):
            return Ref(self.var_of(obj)), obj
        return obj, obj

    def outputs(self, result, op_index):
        """Wrap the arrays of ``result`` as new TArrays produced by op ``op_index`` (NumPy's 0-d
        results are scalars, ``numpy.float32`` and co.: values of the step too)."""
        if (self.is_array(result) or _np_scalar(result)) and type(result) is not TArray:
            n = self.new_var(result)
            self._by_id[id(result)] = n
            self._keep.append(result)
            self.produced[n] = op_index
            return TArray(result, self, n), (n,), False
        if type(result) in (tuple, list) and result and all(self.is_array(r) for r in result):
            wrapped, outs = [], []
            for r in result:
                w, o, _ = self.outputs(r, op_index)
                wrapped.append(w)
                outs.extend(o)
            return type(result)(wrapped), tuple(outs), True
        return result, (), False

    def record(self, kind, fn, args, kwargs, run):
        """Execute ``run(real_args, real_kwargs)`` and record it; returns the wrapped result."""
        targs, rargs = self.template(tuple(args))
        tkw, rkw = self.template(dict(kwargs)) if kwargs else ({}, {})
        result = run(rargs, rkw)
        if result is NotImplemented:
            return result
        # in-place: the result is an operand (a += b, out=..., x.add_(y), ufunc.at)
        for i, a in enumerate(rargs):
            if result is a and self.is_array(a):
                if kind == "method" and isinstance(fn, str) and (fn.startswith("__i") or fn.endswith("_")):
                    return self._inplace(kind, fn, targs, tkw, targs[i], args[i])  # a += b, x.add_(y)
                # asarray(x) / astype(x, same dtype, copy=False) gave x back: the same value, no op
                return args[i] if type(args[i]) is TArray else TArray(a, self, self.var_of(a))
        out = rkw.get("out")
        if out is not None:
            first = out[0] if isinstance(out, tuple) else out
            tfirst = tkw["out"][0] if isinstance(tkw["out"], tuple) else tkw["out"]
            self.ops.append(Op(kind, fn, targs, tkw, (tfirst.n,), inplace=tfirst.n))
            if isinstance(kwargs["out"], tuple):
                return kwargs["out"] if isinstance(result, tuple) else kwargs["out"][0]
            return kwargs["out"]
        if kind == "method" and fn == "at":
            pass
        idx = len(self.ops)
        op = Op(kind, fn, targs, tkw, ())
        self.ops.append(op)
        wrapped, outs, multi = self.outputs(result, idx)
        op.outs, op.multi = outs, multi
        if not outs and kind == "setitem":
            op.inplace = targs[0].n
        return wrapped

    def _inplace(self, kind, fn, targs, tkw, tref, orig):
        self.ops.append(Op(kind, fn, targs, tkw, (tref.n,), inplace=tref.n))
        if type(orig) is TArray and orig._trace is self:
            return orig
        return TArray(self.real_of[tref.n], self, tref.n)


def _real(x):
    return x._real if type(x) is TArray else x


# --------------------------------------------------------------------------------------------
# the proxy array
_BINARY = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
           "rshift"]
_COMPARE = ["lt", "le", "gt", "ge", "eq", "ne"]
_UNARY = ["neg", "pos", "abs", "invert"]


class TArray:
    """A traced array: ``_real`` (the backend array computed now), its trace and variable number.
    Without an active trace (a proxy left in a cache) it behaves as its real value."""

    __slots__ = ("_real", "_trace", "_n", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, real, trace, n):
        self._real, self._trace, self._n = real, trace, n

    # metadata: static for a trace (the guards check it)
    @property
    def shape(self):
        return self._real.shape

    @property
    def dtype(self):
        return self._real.dtype

    @property
    def ndim(self):
        return self._real.ndim

    @property
    def size(self):
        return self._real.size

    @property
    def device(self):
        return self._real.device

    def __len__(self):
        return len(self._real)

    def __iter__(self):
        for i in range(len(self._real)):
            yield self[i]

    def __array_namespace__(self, api_version=None):
        from ..backend import namespace_of

        return namespace_of(self._real)

    __hash__ = object.__hash__

    def _live(self):
        t = active()
        return t if t is not None else None

    def _method(self, name, args, kwargs=None):
        t = active()
        real = self._real
        if t is None:
            return getattr(real, name)(*[_real(a) for a in args], **{k: _real(v) for k, v in (kwargs or {}).items()})
        return t.record("method", name, (self,) + tuple(args), kwargs or {},
                        lambda ra, rk: getattr(ra[0], name)(*ra[1:], **rk))

    def __getitem__(self, key):
        return self._method("__getitem__", (key,))

    def __setitem__(self, key, value):
        t = active()
        if t is None:
            self._real[_unwrap(key)] = _real(value)
            return
        def run(ra, rk):
            ra[0][ra[1]] = ra[2]
        t.record("setitem", "__setitem__", (self, key, value), {}, run)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_real", "_trace", "_n"):
            raise AttributeError(name)
        v = getattr(self._real, name)
        t = active()
        if callable(v) and not isinstance(v, type):
            if name == "item" and t is not None:
                kind = getattr(getattr(self._real, "dtype", None), "kind", "f")
                conv = bool if kind == "b" else (int if kind in "iu" else float)
                return lambda: self._read(conv, "item()", symbolic=True)
            if name in _HOST_METHODS and t is not None:
                t.note_host_read(f"{name}() of a traced array")
                return v
            return lambda *a, **k: self._method(name, a, k)
        if t is not None and t.is_array(v):
            return t.record("getattr", name, (self,), {}, lambda ra, rk: getattr(ra[0], name))
        return v

    # host reads. Of an array in host memory (NumPy, array_api_strict, PyTorch on the CPU) the value
    # is a runtime scalar: the replay reads it again and every branch taken on it is a guard (a label
    # range check costs no synchronisation there). Of a device array it cannot be replayed.
    def _host(self, what):
        t = active()
        if t is not None:
            t.note_host_read(f"{what} of a traced array (a host read or Python branching on data)")
        return self._real

    def _read(self, conv, what, symbolic=False):
        t = active()
        if t is None or t is not self._trace:
            return conv(self._real)
        if not _in_host_memory(self._real):
            t.note_host_read(f"{what} of a traced device array (a host synchronisation)")
            return conv(self._real)
        from .scalars import guard_read, read_sym

        v = conv(self._real)
        if conv is bool or not symbolic:  # float()/int() make an exact float/int of what they get:
            return guard_read(t, self._n, v, conv)  # the value itself is guarded
        return read_sym(t, self._n, conv, v)

    def __bool__(self):
        return self._read(bool, "bool()")

    def __float__(self):
        return self._read(float, "float()")

    def __int__(self):
        return self._read(int, "int()")

    def __index__(self):
        return self._read(int, "an index (__index__)")

    def __complex__(self):
        return complex(self._host("complex()"))

    def __array__(self, dtype=None, copy=None):
        r = self._host("conversion to NumPy (__array__)")
        return r.__array__() if dtype is None else r.__array__(dtype)

    def __dlpack__(self, *a, **k):
        return self._host("__dlpack__").__dlpack__(*a, **k)

    def __dlpack_device__(self):
        return self._real.__dlpack_device__()

    def __repr__(self):
        return f"TArray({self._host('printing')!r})"

    __str__ = __repr__

    def __format__(self, spec):
        return format(self._host("formatting"), spec)

    # NumPy protocols: native NumPy calls on a traced array are recorded too
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        t = active()
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        if t is None:
            return fn(*[_real(a) for a in inputs], **{k: _unwrap(v) for k, v in kwargs.items()})
        if method == "at":  # ufunc.at(a, idx, b) writes into a and returns None
            t.record("call", fn, inputs, kwargs, lambda ra, rk: fn(*ra, **rk))
            t.ops[-1].inplace = t.ops[-1].args[0].n
            t.ops[-1].outs = (t.ops[-1].inplace,)
            return None
        return t.record("call", fn, inputs, kwargs, lambda ra, rk: fn(*ra, **rk))

    def __array_function__(self, func, types_, args, kwargs):
        t = active()
        if t is None:
            return func(*_unwrap(args), **_unwrap(kwargs))
        return t.record("call", func, args, kwargs, lambda ra, rk: func(*ra, **rk))

    @classmethod
    def __torch_function__(cls, func, types_, args=(), kwargs=None):
        t = active()
        kwargs = kwargs or {}
        if t is None:
            return func(*_unwrap(args), **_unwrap(kwargs))
        return t.record("call", func, args, kwargs, lambda ra, rk: func(*ra, **rk))


_HOST_METHODS = {"item", "tolist", "get", "numpy", "cpu", "tobytes", "__array__", "__dlpack__"}


def _np_scalar(x) -> bool:
    """A NumPy scalar (``numpy.float32(1.0)``): what NumPy returns for a full reduction."""
    from ..backend.ops import is_host_scalar

    return is_host_scalar(x)


def _in_host_memory(x) -> bool:
    """Reading a value of ``x`` costs no device synchronisation (the backend says: NumPy, strict, torch on CPU)."""
    from ..backend.devices import on_host

    try:
        return on_host(x)
    except Exception:  # not an array of any registered namespace
        return False


def _unwrap(obj):
    t = type(obj)
    if t is TArray:
        return obj._real
    if isinstance(obj, Sym):
        return obj._value()
    if t is tuple or t is list:
        return t(_unwrap(o) for o in obj)
    if t is dict:
        return {k: _unwrap(v) for k, v in obj.items()}
    if t is slice:
        return slice(_unwrap(obj.start), _unwrap(obj.stop), _unwrap(obj.step))
    return obj


def _make_binary(name):
    dunder = f"__{name}__"

    def op(self, other):
        return self._method(dunder, (other,))

    def rop(self, other):
        return self._method(f"__r{name}__", (other,))

    def iop(self, other):
        t = active()
        real = self._real
        f = getattr(real, f"__i{name}__", None)
        if t is None:
            if f is None:
                return getattr(real, dunder)(_real(other))
            return f(_real(other))
        if f is None:  # an immutable array type: a += b is a = a + b
            return self._method(dunder, (other,))
        return self._method(f"__i{name}__", (other,))

    op.__name__, rop.__name__, iop.__name__ = dunder, f"__r{name}__", f"__i{name}__"
    return op, rop, iop


for _n in _BINARY:
    _o, _r, _i = _make_binary(_n)
    setattr(TArray, _o.__name__, _o)
    setattr(TArray, _r.__name__, _r)
    setattr(TArray, _i.__name__, _i)
for _n in _COMPARE:
    def _cmp(self, other, _d=f"__{_n}__"):
        return self._method(_d, (other,))
    setattr(TArray, f"__{_n}__", _cmp)
for _n in _UNARY:
    def _un(self, _d=f"__{_n}__"):
        return self._method(_d, ())
    setattr(TArray, f"__{_n}__", _un)


# --------------------------------------------------------------------------------------------
# the namespace: its functions record while a trace runs (in the tracing thread only)
_PASS = {"isdtype", "finfo", "iinfo", "result_type", "can_cast", "__array_namespace_info__", "array_namespace",
         "is_array_api_obj", "size", "device", "to_device_name"}


def _recording(fn, name):
    def wrapper(*args, **kwargs):
        t = getattr(_local, "trace", None)
        if t is None:
            return fn(*_unwrap(args), **_unwrap(kwargs))
        return t.record("call", fn, args, kwargs, lambda ra, rk: fn(*ra, **rk))

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__wrapped__ = fn
    wrapper._xpnet_recording = True
    return wrapper


_PATCHED: dict = {}  # id(module) -> saved attributes (the patch is process-wide, used by one thread)
_PATCH_LOCK = threading.Lock()


def _namespaces_for(xp):
    """``xp`` and the modules that share its functions (xpnet's NumPy namespace delegates to
    ``array_api_compat.numpy``)."""
    mods = [xp]
    try:
        from ..backend import numpy_ns

        if xp is numpy_ns.namespace or xp is numpy_ns._compat:
            ns = numpy_ns.namespace
            for name in dir(numpy_ns._compat):  # cache the real functions first (its __getattr__ caches)
                if not name.startswith("_"):
                    getattr(ns, name)
            mods = [ns, numpy_ns._compat]
    except ImportError:  # pragma: no cover
        pass
    return mods


def _patch_namespace(mod):
    saved = {}
    names = set(dir(mod))
    src = getattr(mod, "_compat_src", None)
    for name in names:
        if name.startswith("_") or name in _PASS:
            continue
        v = getattr(mod, name)
        if not isinstance(v, (types.FunctionType, types.BuiltinFunctionType)) or hasattr(v, "_xpnet_recording"):
            continue  # dtypes, constants, ufuncs (NumPy calls them back through __array_ufunc__)
        saved[name] = mod.__dict__.get(name, _MISSING)
        setattr(mod, name, _recording(v, name))
    del src
    return saved


_MISSING = object()


def _unpatch_namespace(mod, saved):
    for name, v in saved.items():
        if v is _MISSING:
            try:
                delattr(mod, name)
            except AttributeError:
                pass
        else:
            setattr(mod, name, v)


# --------------------------------------------------------------------------------------------
# random draws: recorded as calls that draw again from the stream on replay
RANDOM_FUNCTIONS = ("dropout_mask", "uniform", "normal", "permutation", "bernoulli")


def _untraced(fn, args, kwargs):
    """``fn`` run on real arrays with recording off (the draw is one recorded op as a whole)."""
    saved = _local.trace
    _local.trace = None
    try:
        with real_math():
            return fn(*args, **kwargs)
    finally:
        _local.trace = saved


def _dropout_uniform(b, shape, dtype, gen=None):
    """The one draw of the generic dropout mask (``Backend.dropout_mask``): U[0, 1) of ``shape``."""
    from ..backend.dtypes import dtype_name
    from ..backend.random import _native_of

    return b.uniform(_native_of(gen, b), shape, dtype_name(dtype), 0.0, 1.0)


def _generic_dropout(fn, args):
    if getattr(fn, "__name__", "") != "dropout_mask" or len(args) != 4:
        return False
    from ..backend.base import Backend

    return getattr(type(args[0]), "dropout_mask", None) is Backend.dropout_mask


def _random_wrapper(fn):
    def draw(*args, **kwargs):
        t = getattr(_local, "trace", None)
        if t is None:
            return fn(*_unwrap(args), **_unwrap(kwargs))
        if _generic_dropout(fn, args) and set(kwargs) <= {"gen"}:
            # a backend without a native mask (CuPy): only the uniform draw is random; the compare,
            # cast and scale that Backend.dropout_mask applies are traced (and fuse with their users)
            b, shape, p, dtype = args
            u = t.record("random", _dropout_uniform, (b, shape, dtype), kwargs,
                         lambda ra, rk: _untraced(_dropout_uniform, ra, rk))
            return b.xp.astype(u >= p, dtype) * (1.0 / (1.0 - p))
        return t.record("random", fn, args, kwargs, lambda ra, rk: _untraced(fn, ra, rk))

    draw.__name__ = draw.__qualname__ = getattr(fn, "__name__", "draw")
    draw.__wrapped__ = fn
    return draw


# backend functions with native paths per library (scipy/cupyx erf, index_add...): one opaque
# recorded op each, run on the real arrays (the replay calls the same function)
PRIMITIVE_FUNCTIONS = ("affine", "erf", "scatter_add")
# the registered fast kernels (numba on NumPy, CUDA on CuPy): each call one opaque op
FAST_KERNELS = ("gelu_forward", "gelu_backward", "batchnorm_forward", "batchnorm_running", "batchnorm_backward")


def _primitive_wrapper(fn):
    def prim(*args, **kwargs):
        t = getattr(_local, "trace", None)
        if t is None:
            return fn(*_unwrap(args), **_unwrap(kwargs))
        out = t.record("call", fn, args, kwargs, lambda ra, rk: _untraced(fn, ra, rk))
        op = t.ops[-1] if t.ops else None
        if out is None and op is not None and op.fn is fn and not op.outs:  # wrote into its arguments
            from .plan import op_refs

            refs = op_refs(op)
            op.inplace = refs[0] if refs else None
            op.outs = tuple(refs[:1])
        return out

    prim.__name__ = prim.__qualname__ = getattr(fn, "__name__", "primitive")
    prim.__wrapped__ = fn
    return prim


def _patch_functions(module, names, make):
    """Replace every reference to ``module.<name>`` in xpnet's modules by ``make(function)``."""
    originals = {id(getattr(module, n)): getattr(module, n) for n in names if callable(getattr(module, n, None))}
    wrappers = {k: make(f) for k, f in originals.items()}
    saved = []
    for mname, mod in list(sys.modules.items()):
        if mod is None or not (mname == "xpnet" or mname.startswith("xpnet.")) or mname.startswith("xpnet.compile"):
            continue
        d = getattr(mod, "__dict__", None)
        if not d:
            continue
        for k, v in list(d.items()):
            w = wrappers.get(id(v))
            if w is not None and v is originals[id(v)]:
                saved.append((mod, k, v))
                setattr(mod, k, w)
    return saved


# backend functions that read host scalars from arrays (a label range check): their results become
# runtime scalars recomputed on replay, so that a branch on them is a guard on its outcome
HOST_SCALAR_FUNCTIONS = ("label_range",)


def _host_scalar_wrapper(fn):
    def read(*args, **kwargs):
        t = getattr(_local, "trace", None)
        if t is None:
            return fn(*_unwrap(args), **_unwrap(kwargs))
        targs, rargs = t.template(tuple(args))
        tkw, rkw = t.template(dict(kwargs))
        if not all(_in_host_memory(a) for a in rargs if t.is_array(a)):
            t.note_host_read(f"{getattr(fn, '__name__', 'a host read')}() of a traced device array")
            return _untraced(fn, rargs, rkw)
        value = _untraced(fn, rargs, rkw)
        from .scalars import call_sym

        if isinstance(value, tuple):
            return tuple(call_sym(t, fn, targs, tkw, i, v) for i, v in enumerate(value))
        return call_sym(t, fn, targs, tkw, None, value)

    read.__name__ = read.__qualname__ = getattr(fn, "__name__", "read")
    read.__wrapped__ = fn
    return read


def _load_fast_kernels(xp):
    """Import the backend's fast kernel modules before patching, so that their functions are the
    recorded ones even when a trace is the first call that uses them."""
    from ..backend import ops as S

    for family in ("gelu", "batchnorm"):
        S.fast_kernels(xp, family)


def _patch_random():
    from ..backend import random as R
    from ..backend import ops as S

    saved = []
    for name in ("fast_numpy", "fast_cupy"):
        mod = sys.modules.get(f"xpnet.backend.{name}")
        if mod is not None:
            saved += _patch_functions(mod, FAST_KERNELS, _primitive_wrapper)
    return (saved + _patch_functions(R, RANDOM_FUNCTIONS, _random_wrapper)
            + _patch_functions(S, PRIMITIVE_FUNCTIONS, _primitive_wrapper)
            + _patch_functions(S, HOST_SCALAR_FUNCTIONS, _host_scalar_wrapper))


class tracing:
    """Context: the calling thread records into ``trace`` while namespace ``xp``'s functions, the
    random draws and ``math``'s scalar functions are the recording ones."""

    def __init__(self, trace, xp):
        self.trace, self.xp = trace, xp

    def __enter__(self):
        _PATCH_LOCK.acquire()
        try:
            _load_fast_kernels(self.xp)
            self.saved = [(m, _patch_namespace(m)) for m in _namespaces_for(self.xp)]
            self.random = _patch_random()
            self.math = patch_math()
        except BaseException:
            _PATCH_LOCK.release()
            raise
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        # int(host array) returns a runtime scalar (an int subclass) while tracing
        warnings.filterwarnings("ignore", message=r".*returned non-(int|float)", category=DeprecationWarning)
        _local.trace = self.trace
        return self.trace

    def __exit__(self, *exc):
        _local.trace = None
        self.warnings.__exit__(None, None, None)
        try:
            for m, saved in self.saved:
                _unpatch_namespace(m, saved)
            for mod, k, v in self.random:
                setattr(mod, k, v)
            self.math()
        finally:
            _PATCH_LOCK.release()
        return False
