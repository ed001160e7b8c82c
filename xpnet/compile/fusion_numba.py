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
"""
from __future__ import annotations

import hashlib

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


_DISPATCHERS: dict = {}


def compile_source(fname, src, parallel):
    """The njit dispatcher of ``src`` (one per source in the process: a group met again, in another
    trace or at another batch size, compiles nothing)."""
    fn = _DISPATCHERS.get((src, parallel))
    if fn is not None:
        return fn
    import numba

    g = {"np": np, "prange": numba.prange}
    exec(compile(src, f"<xpnet fused {fname}>", "exec"), g)
    fn = _DISPATCHERS[(src, parallel)] = numba.njit(parallel=parallel)(g[fname])
    return fn


class NumbaGroupKernel:
    """``(*inputs, *scalars, *targets) -> new outputs`` (a tuple) for one group."""

    def __init__(self, group):
        size = int(np.prod(group.shape)) if group.shape else 1
        self.parallel = size >= PARALLEL_MIN and len(group.shape) > 0
        self.name, self.source = source_of(group, self.parallel)
        self.fn = compile_source(self.name, self.source, self.parallel)
        self.shape = group.shape
        self.n_in, self.n_s = len(group.inputs), len(group.scalars)
        self.zero_d = [i for i, v in enumerate(group.inputs) if not tuple(group.meta[v][0])]
        self.new = [np.dtype(group.meta[v][1]) for v in group.outputs]
        self.ops = len(group.nodes)

    def __call__(self, *args):
        shape, n, z = self.shape, self.n_in, self.zero_d
        if z:
            args = list(args)
            for i in z:
                args[i] = args[i][()]  # 0-d array or NumPy scalar -> scalar
        outs = tuple(np.empty(shape, d) for d in self.new)
        self.fn(*args[:n + self.n_s], *outs, *args[n + self.n_s:])
        return outs

    def __repr__(self):
        return f"<fused {self.name}: {self.ops} ops>"


def emit_numba(group):
    """The fused plan op of ``group`` (None when a target is not a writable C array: then unfused)."""
    return fused_op(group, NumbaGroupKernel(group))
