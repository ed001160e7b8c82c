# purity: host -- a strict host-memory stand-in for CuPy (counts device ops and host reads); not engine code
"""A strict host-memory stand-in for CuPy, so that xpnet's cupy code path runs in CI without a GPU.

``install()`` puts modules named ``cupy``, ``cupy.cuda``, ``cupy.random``, ``cupy.linalg``,
``cupy.fft``, ``cupyx``, ``cupyx.scipy.special`` into ``sys.modules`` (replacing a real CuPy that
has no driver), so ``import cupy`` and ``array_api_compat.cupy`` see it. Its ``ndarray``
(:mod:`.array`) is not a ``numpy.ndarray``, refuses implicit host conversion and host arrays in
device operations, counts every device→host read and every device operation (:data:`COUNTERS`),
and wraps out-of-bounds integer indices as CuPy does. ``ElementwiseKernel`` bodies are compiled
with the host C++ compiler (:mod:`.hostkernel`) and run: the CUDA-C xpnet ships is what runs here.

What it cannot show: timings, real memory limits, asynchronous execution, NVRTC/driver behaviour
(see tests/test_kernels_nvrtc.py for the compile check), multi-GPU peer access.
"""
from __future__ import annotations

import sys
import types

import numpy as np

from . import array as _arr
from .array import POOL, PINNED_POOL, Device, ndarray, unwrap, wrap
from .counters import COUNTERS

VERSION = "14.2.0+standin"
_NO_KERNEL = {"empty", "empty_like"}  # allocation only, no launch
_SKIP = {"ndarray", "array", "asarray", "asanyarray", "ascontiguousarray", "asnumpy", "matrix", "memmap",
         "save", "savez", "load", "loadtxt", "savetxt", "fromfile", "frombuffer", "genfromtxt", "from_dlpack",
         "printoptions", "set_printoptions", "get_printoptions", "seterr", "geterr", "errstate",
         "vectorize", "frompyfunc", "info", "show_config", "test"}


def _func(name, f):
    def g(*args, **kwargs):
        if "device" in kwargs:
            raise TypeError(f"cupy.{name}() got an unexpected keyword argument 'device'")
        out = kwargs.get("out")
        args = [unwrap(a, f"cupy.{name}") for a in args]
        kwargs = {k: unwrap(v, f"cupy.{name}") for k, v in kwargs.items()}
        r = f(*args, **kwargs)
        if out is not None:
            COUNTERS.op(name)
            return out
        return wrap(r, name, count=name not in _NO_KERNEL)
    g.__name__ = g.__qualname__ = name
    return g


def _wrap_namespace(mod_name, src, names=None):
    m = types.ModuleType(mod_name)
    for n in names if names is not None else dir(src):
        if n.startswith("_") or n in _SKIP:
            continue
        v = getattr(src, n)
        if isinstance(v, type) or isinstance(v, types.ModuleType):
            if isinstance(v, type) and issubclass(v, np.generic):
                setattr(m, n, v)
            continue
        if callable(v):
            setattr(m, n, _func(n, v))
        elif isinstance(v, (int, float)) or v is None:
            setattr(m, n, v)
    return m


def _asarray(obj, dtype=None, order=None, *, blocking=False):
    if isinstance(obj, ndarray):
        return obj if dtype is None or np.dtype(dtype) == obj.dtype else obj.astype(dtype)
    if any(isinstance(v, ndarray) for v in (obj if isinstance(obj, (list, tuple)) else ())):
        return wrap(np.stack([unwrap(v) for v in obj]).astype(dtype) if dtype else np.stack([unwrap(v) for v in obj]), "stack")
    return wrap(np.array(obj, dtype=dtype, order=order or "K", copy=True), "h2d")


def _array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        if not copy and (dtype is None or np.dtype(dtype) == obj.dtype):
            return obj
        return wrap(np.array(obj._a, dtype=dtype, copy=True, order=order, ndmin=ndmin), "copy")
    return wrap(np.array(obj, dtype=dtype, copy=True, order=order, ndmin=ndmin), "h2d")


def _asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get()
    return np.asarray(a)


class _Stream:
    null = None

    def __init__(self, null=False, non_blocking=False, ptr=0):
        self.ptr = ptr

    def synchronize(self):
        COUNTERS.op("stream_synchronize", 0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def use(self):
        return self


_Stream.null = _Stream(null=True)


class _Generator:
    """``cupy.random.Generator`` (NumPy's PCG64 underneath: the numbers differ from CuPy's XORWOW,
    the calls and dtypes do not)."""

    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def random(self, size=None, dtype=np.float64, out=None):
        return wrap(self._g.random(size, dtype=dtype), "random")

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return wrap(self._g.standard_normal(size, dtype=dtype), "random")

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return wrap(self._g.integers(low, high, size, dtype=dtype, endpoint=endpoint), "random")

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return wrap(self._g.uniform(low, high, size).astype(dtype), "random")

    def permutation(self, x):
        return wrap(self._g.permutation(x), "random")


class ElementwiseKernel:
    """``cupy.ElementwiseKernel``: the body compiled on the host (:mod:`.hostkernel`) at first call."""

    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True, preamble="",
                 no_return=False, return_tuple=False, loop_prep="", after_loop="", options=()):
        from .hostkernel import parse_params, split_raw

        self.in_params, self.out_params, self.operation, self.name = in_params, out_params, operation, name
        self.nin, self.nout = len(parse_params(split_raw(in_params)[0])), len(parse_params(split_raw(out_params)[0]))
        self._host = None

    def __call__(self, *args, size=None, stream=None):
        from .hostkernel import HostElementwise

        if len(args) not in (self.nin, self.nin + self.nout):
            raise TypeError(f"{self.name}: wrong number of arguments (expected {self.nin} inputs, got {len(args)})")
        if self._host is None:
            self._host = HostElementwise(self.in_params, self.out_params, self.operation, self.name)
        outs = self._host(*[unwrap(a, self.name) for a in args])
        COUNTERS.op(f"kernel:{self.name}")
        if len(args) > self.nin:  # outputs given: updated in place, returned as given
            given = args[self.nin:]
            return given[0] if len(given) == 1 else tuple(given)
        return wrap(outs, self.name, count=False)


class ReductionKernel:
    """``cupy.ReductionKernel``: ``map_expr`` (with the ``preamble``) compiled on the host and run per
    element of the broadcast inputs, reduced along ``axis`` by NumPy's own reduction for the
    ``reduce_expr``s xpnet generates (``a + b``: ``numpy.add.reduce``, pairwise as ``cupy.sum``'s
    result here; the NaN-keeping max: ``numpy.maximum.reduce``), then ``post_map_expr`` compiled on
    the host over the results. A struct-valued reduction (several results of one kernel) is read
    field by field: ``reduce_expr`` written ``NAME(<field 0's expression of a.v0, b.v0>, ...)``.
    One device operation (one launch on a GPU)."""

    _REDUCE = {"a + b": np.add.reduce, "(a != a || a > b) ? a : b": np.maximum.reduce}

    def __init__(self, in_params, out_params, map_expr, reduce_expr, post_map_expr, identity, name="reduce_kernel",
                 reduce_type=None, reduce_dims=True, preamble="", options=()):
        import re

        from .hostkernel import parse_params

        outs = parse_params(out_params)
        if any(t == "T" for t, _ in outs):
            raise NotImplementedError(f"stand-in ReductionKernel {name}: outputs of concrete types expected")
        if reduce_expr in self._REDUCE:
            self.fields = None
            self.reducers = [self._REDUCE[reduce_expr]]
        else:
            m = re.fullmatch(r"(\w+)\((.*)\)", reduce_expr.strip())
            parts = _top_level_split(m.group(2)) if m else []
            self.reducers, self.fields = [], []
            for k, e in enumerate(parts):
                f = f"v{k}"
                plain = e.replace(f"a.{f}", "a").replace(f"b.{f}", "b")
                if plain not in self._REDUCE:
                    raise NotImplementedError(f"stand-in ReductionKernel {name}: reduce_expr {reduce_expr!r} not emulated")
                self.reducers.append(self._REDUCE[plain])
                self.fields.append(f)
            if not parts or len(parts) != len(outs):
                raise NotImplementedError(f"stand-in ReductionKernel {name}: reduce_expr {reduce_expr!r} not emulated")
        if self.fields is None and len(outs) != 1:
            raise NotImplementedError(f"stand-in ReductionKernel {name}: one output per reduced value expected")
        self.in_params, self.out_params, self.name = in_params, out_params, name
        self.map_expr, self.reduce_expr, self.post_map_expr, self.preamble = map_expr, reduce_expr, post_map_expr, preamble
        self.reduce_type = reduce_type
        self.nin, self.outs = len(parse_params(in_params)), outs
        self._map = self._post = None

    def _compile(self):
        from .hostkernel import HostElementwise

        if self.fields is None:
            t = self.outs[0][0]
            self._map = HostElementwise(self.in_params, f"{t} _m0", f"_m0 = ({self.map_expr});", f"{self.name}_map",
                                        self.preamble)
            self._post = HostElementwise(f"{t} a", self.out_params, self.post_map_expr + ";", f"{self.name}_post",
                                         self.preamble)
            return
        ms = ", ".join(f"{t} _m{k}" for k, (t, _) in enumerate(self.outs))
        body = f"{self.reduce_type} _r = ({self.map_expr}); " + " ".join(f"_m{k} = _r.{f};" for k, f in enumerate(self.fields))
        self._map = HostElementwise(self.in_params, ms, body, f"{self.name}_map", self.preamble)
        ins = ", ".join(f"{t} _a{k}" for k, (t, _) in enumerate(self.outs))
        body = (f"{self.reduce_type} a; " + " ".join(f"a.{f} = _a{k};" for k, f in enumerate(self.fields))
                + f" {self.post_map_expr};")
        self._post = HostElementwise(ins, self.out_params, body, f"{self.name}_post", self.preamble)

    def __call__(self, *args, axis=None, keepdims=False, stream=None):
        if len(args) != self.nin:
            raise TypeError(f"{self.name}: wrong number of arguments (expected {self.nin} inputs, got {len(args)})")
        if self._map is None:
            self._compile()
        ms = self._map(*[unwrap(a, self.name) for a in args])
        ms = ms if isinstance(ms, tuple) else (ms,)
        rs = [np.asarray(f(m, axis=axis, keepdims=keepdims)) for f, m in zip(self.reducers, ms)]
        outs = self._post(*[np.ascontiguousarray(r) for r in rs])
        outs = outs if isinstance(outs, tuple) else (outs,)
        COUNTERS.op(f"kernel:{self.name}")
        res = tuple(wrap(np.asarray(o).reshape(rs[0].shape), self.name, count=False) for o in outs)
        return res[0] if len(res) == 1 else res


def _top_level_split(s):
    """``"f(a, b), c"`` → ["f(a, b)", "c"]: commas outside brackets."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur).strip())
    return out


class RawKernel:
    def __init__(self, code, name, options=(), backend="nvrtc", translate_cucomplex=False, **k):
        self.code, self.name = code, name

    def __call__(self, *a, **k):
        raise NotImplementedError("stand-in: RawKernel launches need a GPU (their source is checked by NVRTC in CI)")


def _scatter_add(a, slices, value):
    """``cupyx.scatter_add``: ``a[slices] += value`` with repeated indices adding up; out-of-bounds
    integer indices wrap as in CuPy."""
    key = _arr._unwrap_index(slices, a.shape)
    np.add.at(a._a, key, unwrap(value))
    COUNTERS.op("scatter_add")


def _take(a, indices, axis=None, out=None, mode="wrap"):
    """``cupy.take``: mode ``"wrap"`` by default (out-of-bounds indices wrap, never raise)."""
    return wrap(np.take(unwrap(a), unwrap(indices), axis=axis, mode=mode), "take")


def _take_along_axis(a, indices, axis):
    """``cupy.take_along_axis``: fancy indexing underneath, so out-of-bounds indices wrap."""
    a, idx = unwrap(a), unwrap(indices)
    n = a.shape[axis] if axis is not None else a.size
    return wrap(np.take_along_axis(a, np.mod(idx, n) if n else idx, axis), "take_along_axis")


def build():
    """The stand-in modules, by name."""
    cupy = _wrap_namespace("cupy", np)
    cupy.__path__ = []
    cupy.__version__ = VERSION
    cupy.__file__ = __file__
    cupy.ndarray = ndarray
    cupy.dtype = np.dtype
    cupy.finfo, cupy.iinfo = np.finfo, np.iinfo
    cupy.bool_ = np.bool_
    cupy.newaxis = None
    cupy.asarray = _asarray
    cupy.array = _array
    cupy.ascontiguousarray = lambda a, dtype=None: _asarray(a, dtype) if isinstance(a, ndarray) else _asarray(a, dtype)
    cupy.asnumpy = _asnumpy
    cupy.take, cupy.take_along_axis = _take, _take_along_axis
    ndarray.take = lambda self, indices, axis=None, out=None, mode="wrap": _take(self, indices, axis, out, mode)
    cupy.ElementwiseKernel = ElementwiseKernel
    cupy.ReductionKernel = ReductionKernel
    cupy.RawKernel = RawKernel
    cupy.get_default_memory_pool = lambda: POOL
    cupy.get_default_pinned_memory_pool = lambda: PINNED_POOL
    cupy.get_array_module = lambda *a: cupy
    cupy.from_dlpack = lambda x: (_ for _ in ()).throw(BufferError("stand-in: no DLPack import"))
    cupy.is_available = lambda: True
    cupy.show_config = lambda: print(f"CuPy stand-in {VERSION} (host memory, no GPU)")

    cuda = types.ModuleType("cupy.cuda")
    cuda.__path__ = []  # a package, as in CuPy (``from cupy.cuda.device import Device``)
    device_mod = types.ModuleType("cupy.cuda.device")
    device_mod.Device = Device
    cuda.device = device_mod
    runtime = types.ModuleType("cupy.cuda.runtime")
    runtime.getDeviceCount = lambda: _arr.N_DEVICES
    runtime.getDeviceProperties = lambda i: {"name": b"CuPy stand-in (host memory)", "totalGlobalMem": 1 << 34,
                                             "major": 8, "minor": 0, "multiProcessorCount": 1}
    runtime.deviceSynchronize = lambda: None
    runtime.runtimeGetVersion = lambda: 12000
    runtime.driverGetVersion = lambda: 12000
    runtime.is_hip = False
    cuda.runtime = runtime
    cuda.Device = Device
    cuda.Stream = _Stream
    cuda.ExternalStream = _Stream
    cuda.get_current_stream = lambda device=None: _Stream.null
    cuda.is_available = lambda: True
    cuda.MemoryPool = type(POOL)
    cupy.cuda = cuda

    random = types.ModuleType("cupy.random")
    random.default_rng = _Generator
    random.Generator = _Generator
    _global = [_Generator(None)]
    random.seed = lambda s=None: _global.__setitem__(0, _Generator(s))
    random.random = lambda size=None, dtype=float: _global[0].random(size, dtype)
    random.standard_normal = lambda size=None, dtype=float: _global[0].standard_normal(size, dtype)
    cupy.random = random

    linalg = _wrap_namespace("cupy.linalg", np.linalg)
    fft = _wrap_namespace("cupy.fft", np.fft)
    cupy.linalg, cupy.fft = linalg, fft

    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = _scatter_add
    scipy_ = types.ModuleType("cupyx.scipy")
    special = types.ModuleType("cupyx.scipy.special")
    from scipy import special as _sp

    special.erf = _func("erf", _sp.erf)
    special.erfc = _func("erfc", _sp.erfc)
    scipy_.special = special
    cupyx.scipy = scipy_
    return {"cupy": cupy, "cupy.cuda": cuda, "cupy.cuda.runtime": runtime, "cupy.cuda.device": device_mod, "cupy.random": random,
            "cupy.linalg": linalg, "cupy.fft": fft, "cupyx": cupyx, "cupyx.scipy": scipy_,
            "cupyx.scipy.special": special}


_SAVED: dict = {}
_REPLACED = ("cupy", "array_api_compat.cupy")  # module-name prefixes: cupy, cupy.*, cupyx*, cupy_backends*


def install():
    """Make ``import cupy`` (and ``array_api_compat.cupy``) the stand-in in this process; returns the
    ``cupy`` module. Idempotent."""
    if "cupy" in sys.modules and getattr(sys.modules["cupy"], "__version__", "") == VERSION:
        return sys.modules["cupy"]
    mods = build()
    for name in list(sys.modules):
        if name.startswith(_REPLACED):
            _SAVED[name] = sys.modules.pop(name)
    sys.modules.update(mods)
    return mods["cupy"]


def installed() -> bool:
    return getattr(sys.modules.get("cupy"), "__version__", "") == VERSION


__all__ = ["COUNTERS", "install", "installed", "build", "ndarray", "Device", "POOL", "VERSION"]
