# purity: host -- generates numba code for NumPy arrays (the NumPy target of the fusion pass)
"""NumPy target of the fusion pass: one numba ``@njit`` loop nest per :class:`~.fusion.Group`.

The generated function loops over the group's iteration shape (``prange`` on the outer loop when the
shape has at least :data:`PARALLEL_MIN` elements: alone, a fused kernel gains from threads above about
2^15 elements on the 2-core benchmark machine, but inside a training step, between OpenBLAS's threaded
matrix products, a parallel kernel made W1's step 24× and W4's 1.9× slower, so the threshold is 2^22:
benchmarks/results/cpu.md, ``benchmarks/fusion_threshold.py``), loads one element of every input (inputs are read with broadcasting indices: a
``(256,)`` bias in a ``(32, 256)`` loop is read as ``a[i1]``, a ``(32, 1)`` column as ``a[i0, 0]``), evaluates the group's operations on
scalars in their dtypes (``np.float32(x) * np.float32(y)``: float32 arithmetic, as NumPy's) and
stores the results that leave the group and the in-place targets. Sizes are read from the arrays,
not baked in, and the dispatcher is cached by source in the process, so a new trace of a known group
(another batch size, another model with the same layer kinds) compiles nothing.

Across processes, numba's own on-disk cache (``cache=True``) keeps the machine code: it needs the
function in a real file, so each source is written once (atomically) to the ``compile_cache``
directory (:func:`cache_dir`, :func:`source_file`) under a name hashed from the source and the
numba/NumPy/Python versions, and imported from there as a module of its own. A kernel is compiled (or
loaded) for the argument types the trace saw (:func:`trace_values`), by :meth:`NumbaGroupKernel.build`,
which ``xn.compile`` calls in a background thread (:mod:`.kernel_builds`) or at the trace.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import threading
import types

import numpy as np

from .fusion import Syntax, expression, fused_op

PARALLEL_MIN = 1 << 22  # elements (4 M): measured, see the module docstring and benchmarks/results/cpu.md
_NP = {"float32": "np.float32", "float64": "np.float64", "int32": "np.int32", "int64": "np.int64", "bool": "np.bool_"}
_UNARY = {"exp": "np.exp({})", "log": "np.log({})", "sqrt": "np.sqrt({})", "abs": "abs({})", "tanh": "np.tanh({})",
          "negative": "(-{})", "ones_like": "1", "zeros_like": "0", "neg": "(-{})", "positive": "({})", "pos": "({})", "square": "({0} * {0})"}


def _cast(nd, operand):
    e = operand(nd.operands[0], None)
    return f"({e} != 0)" if nd.dtype == "bool" else e


_SYNTAX = Syntax(binary="{a} {op} {b}", select="{a} if {c} else {b}", or_="or", unary=_UNARY, cast=_cast)


def available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _lit(v):
    return repr(bool(v)) if isinstance(v, bool) else repr(v)


def source_of(group, parallel):
    """(function name, Python source) of the group's kernel ``k(*inputs, *scalars, *outputs, *targets)``."""
    meta = group.meta
    name = {}
    params = []
    for v in group.inputs:
        name[v] = f"x{v}"
        params.append(f"a{v}")
    snames = {}
    for i, s in enumerate(group.scalars):
        snames[id(s)] = f"s{i}"
        params.append(f"s{i}")
    params += [f"o{v}" for v in group.outputs] + [f"w{v}" for v in group.targets]
    k = len(group.shape)
    idx = "[" + ", ".join(f"i{d}" for d in range(k)) + "]" if k else "[()]"
    lines = []
    ind = "    "
    for d in range(k):
        rng = "prange" if d == 0 and parallel else "range"
        lines.append(f"{ind}for i{d} in {rng}(n{d}):")
        ind += "    "
    for v in group.inputs:  # broadcasting by index: a (256,) bias in a (32, 256) loop is read as a[i1]
        shp = tuple(meta[v][0])
        if not shp:
            lines.append(f"{ind}x{v} = a{v}")  # passed as a scalar (see NumbaGroupKernel.__call__)
            continue
        off = k - len(shp)
        ix = ", ".join("0" if (n == 1 and group.shape[d + off] != 1) else f"i{d + off}" for d, n in enumerate(shp))
        lines.append(f"{ind}x{v} = a{v}[{ix}]")
    for v in group.targets:
        name[v] = f"y{v}"
        lines.append(f"{ind}y{v} = w{v}{idx}")

    def operand(o, dt):
        kind, x = o
        src = name[x] if kind == "var" else (snames[id(x)] if kind == "sym" else _lit(x))
        return f"{_NP[dt]}({src})" if dt else src

    for nd in group.nodes:
        e = expression(nd, meta, operand, _SYNTAX)
        tgt = name[nd.out] if nd.inplace else f"t{nd.out}"
        if not nd.inplace:
            name[nd.out] = tgt
        lines.append(f"{ind}{tgt} = {_NP[nd.dtype]}({e})")
    for v in group.outputs:
        lines.append(f"{ind}o{v}{idx} = {name[v]}")
    for v in group.targets:
        lines.append(f"{ind}w{v}{idx} = y{v}")
    first = f"o{group.outputs[0]}" if group.outputs else f"w{group.targets[0]}"
    dims = [f"n{d} = {first}.shape[{d}]" for d in range(k)]  # not baked in: one kernel for every batch size
    body = "\n".join(["    " + d.strip() for d in dims] + lines) or "    pass"
    h = hashlib.sha256((",".join(params) + body + str(parallel)).encode()).hexdigest()[:16]
    fname = f"xpnet_fused_{h}"
    src = (f"def {fname}({', '.join(params)}):\n" + body + "\n")
    return fname, src


# --------------------------------------------------------------------------------------------
# the on-disk cache: a generated source becomes a real file, so numba's ``cache=True`` can key its
# compiled code by that file (numba hashes the file's contents) and a later process loads it
def cache_dir(setting=True):
    """The directory of the on-disk kernel cache for the ``compile_cache`` option's value ``setting``:
    ``True`` (the default) -> ``$XPNET_CACHE`` (xpnet's cache folder, as for the datasets), else
    ``$XDG_CACHE_HOME/xpnet``, else ``~/.cache/xpnet``; a path -> that path; ``False``/``None``/``""``
    -> None (no disk cache). The kernels go in its ``numba`` subfolder."""
    if setting is True:
        setting = os.environ.get("XPNET_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "xpnet")
    if not setting:
        return None
    return os.path.join(os.fspath(setting), "numba")


def _versions():
    import platform
    import sys

    import numba

    return f"numba {numba.__version__} numpy {np.__version__} python {sys.version} {platform.machine()}"


def source_file(fname, src, parallel, directory):
    """The path of a file holding exactly ``src`` in ``directory``, named by a hash of the source,
    ``parallel`` and the numba/NumPy/Python versions (written atomically: a temporary file linked or
    renamed into place, so a parallel process never reads half a file), or None when the directory
    cannot be written (then the kernel is compiled without the disk cache)."""
    key = hashlib.sha256(f"{src}\0{parallel}\0{_NJIT_OPTIONS}\0{_versions()}".encode()).hexdigest()[:24]
    path = os.path.join(directory, f"{fname}_{key}.py")
    data = src.encode()
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return path
        return None  # a file of that name with other contents: leave it, compile without the cache
    except OSError:
        pass
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".tmp", prefix=".xpnet_", dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            os.link(tmp, path)  # never replaces a file another process wrote meanwhile
        except FileExistsError:
            pass
        except OSError:  # no hard links on this file system
            os.replace(tmp, path)
            tmp = None
        with open(path, "rb") as f:
            return path if f.read() == data else None
    except OSError:
        return None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# NumPy's error model: x/0 gives inf or NaN as NumPy's own division does (numba's default, "python",
# raises ZeroDivisionError and tests every divisor, which keeps LLVM from vectorising the loop: a
# fused GELU group ran 11× slower, 14 ms against 1.2 ms on 10,000 × 256)
_NJIT_OPTIONS = {"error_model": "numpy"}

_DISPATCHERS: dict = {}
_LOCK = threading.Lock()


def compile_source(fname, src, parallel, cache=None):
    """The njit dispatcher of ``src`` (one per source in the process: a group met again, in another
    trace or at another batch size, compiles nothing). ``cache``: the directory of the on-disk cache
    (:func:`cache_dir`) or None. Nothing is compiled here: numba compiles at the first call or at
    :meth:`NumbaGroupKernel.build`."""
    key = (src, parallel)
    fn = _DISPATCHERS.get(key)
    if fn is not None:
        return fn
    with _LOCK:
        fn = _DISPATCHERS.get(key)
        if fn is not None:
            return fn
        import numba

        path = source_file(fname, src, parallel, cache) if cache else None
        fn = None
        if path is not None:
            # a module of its own in sys.modules: numba's cached code refers to its globals by module name
            modname = "_" + os.path.splitext(os.path.basename(path))[0]
            mod = sys.modules.get(modname)
            if mod is None:
                mod = types.ModuleType(modname)
                mod.__file__ = path
                mod.np, mod.prange = np, numba.prange
                exec(compile(src, path, "exec"), mod.__dict__)
                sys.modules[modname] = mod
            try:
                fn = numba.njit(parallel=parallel, cache=True, **_NJIT_OPTIONS)(getattr(mod, fname))
            except Exception:  # noqa: BLE001 - numba found no cache locator: compile without the cache
                fn = None
        if fn is None:
            g = {"np": np, "prange": numba.prange}
            exec(compile(src, f"<xpnet fused {fname}>", "exec"), g)
            fn = numba.njit(parallel=parallel, **_NJIT_OPTIONS)(g[fname])
        _DISPATCHERS[key] = fn
        return fn


def kernel_stats() -> dict:
    """Counts over the process's fused-kernel dispatchers: ``kernels`` (distinct sources),
    ``compiled`` (signatures numba compiled), ``loaded`` (signatures loaded from the disk cache),
    ``cached`` (dispatchers backed by a cache file)."""
    with _LOCK:
        ds = list(_DISPATCHERS.values())
    out = {"kernels": len(ds), "compiled": 0, "loaded": 0, "cached": 0}
    for d in ds:
        st = d.stats
        out["compiled"] += sum(st.cache_misses.values())
        out["loaded"] += sum(st.cache_hits.values())
        out["cached"] += st.cache_path is not None and not str(st.cache_path).startswith("<")
    return out


# the real arrays and runtime-scalar values of the trace being fused (set by xpnet.compile.api around
# fusion.apply): the argument types a kernel will be called with, to compile it before its first call
_TRACE_VALUES = threading.local()


@contextlib.contextmanager
def trace_values(real_of, slots):
    """Inside: :class:`NumbaGroupKernel` reads the argument types of its first call from the trace's
    arrays ``real_of`` (var -> array) and input scalar values ``slots``."""
    saved = getattr(_TRACE_VALUES, "v", None)
    _TRACE_VALUES.v = (real_of, slots)
    try:
        yield
    finally:
        _TRACE_VALUES.v = saved


def _signature(group):
    """The numba argument types of the kernel's call (see :meth:`NumbaGroupKernel.__call__`), or None
    when the trace values are not known."""
    ctx = getattr(_TRACE_VALUES, "v", None)
    if ctx is None:
        return None
    real_of, slots = ctx
    import numba
    from numba.core import types

    from .scalars import evaluate

    try:
        sig = []
        for v in group.inputs:
            r = real_of[v]
            sig.append(numba.typeof(r[()] if not tuple(group.meta[v][0]) else r))
        for s in group.scalars:
            sig.append(numba.typeof(evaluate(s.expr, slots)))
        for v in group.outputs:
            sig.append(types.Array(numba.from_dtype(np.dtype(group.meta[v][1])), len(group.shape), "C"))
        for v in group.targets:
            sig.append(numba.typeof(real_of[v]))
        return tuple(sig)
    except Exception:  # noqa: BLE001 - a value numba cannot type, an expression that reads arrays...
        return None


class NumbaGroupKernel:
    """``(*inputs, *scalars, *targets) -> new outputs`` (a tuple) for one group.

    The dispatcher is made at once (and its source written to the disk cache), the machine code by
    :meth:`build` for the argument types the trace saw (:func:`trace_values`), loaded from the disk
    cache when a process compiled it before; a call with other types compiles them on the spot."""

    def __init__(self, group):
        from ..options import get_option

        size = int(np.prod(group.shape)) if group.shape else 1
        self.parallel = size >= PARALLEL_MIN and len(group.shape) > 0
        self.name, self.source = source_of(group, self.parallel)
        self.fn = compile_source(self.name, self.source, self.parallel, cache_dir(get_option("compile_cache")))
        self.signature = _signature(group)
        self.shape = group.shape
        self.n_in, self.n_s = len(group.inputs), len(group.scalars)
        self.zero_d = [i for i, v in enumerate(group.inputs) if not tuple(group.meta[v][0])]
        self.new = [np.dtype(group.meta[v][1]) for v in group.outputs]
        self.ops = len(group.nodes)

    @property
    def ready(self) -> bool:
        """Whether the machine code for the traced argument types exists (a call compiles nothing)."""
        return self.signature is None or self.signature in self.fn.overloads

    def build(self):
        """Compile (or load from the disk cache) the code for the traced argument types; thread-safe
        (numba compiles under its own global lock)."""
        if not self.ready:
            self.fn.compile(self.signature)

    # a compiled replay may hand its preallocated buffers in as ``out`` (xpnet/compile/buffers.py)
    writes_out = True

    def __call__(self, *args, out=None):
        shape, n, z = self.shape, self.n_in, self.zero_d
        if z:
            args = list(args)
            for i in z:
                args[i] = args[i][()]  # 0-d array or NumPy scalar -> scalar
        outs = tuple(np.empty(shape, d) for d in self.new) if out is None else out
        self.fn(*args[:n + self.n_s], *outs, *args[n + self.n_s:])
        return outs

    def __repr__(self):
        return f"<fused {self.name}: {self.ops} ops>"


def emit_numba(group):
    """The fused plan op of ``group`` (None when a target is not a writable C array: then unfused)."""
    return fused_op(group, NumbaGroupKernel(group))
