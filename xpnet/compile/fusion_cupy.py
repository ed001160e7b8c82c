"""CuPy target of the fusion pass: one ``cupy.ElementwiseKernel`` per :class:`~.fusion.Group`.

The body is CUDA C over scalars (CuPy's generated loop binds each parameter to one element,
``cupy/_core/_kernel.pyx``): array inputs are typed input parameters, runtime scalars ``float64``
inputs (converted to the operation's dtype where used, as NumPy 2 converts a weak Python scalar),
new results and in-place targets are output parameters (a target is passed as the output array
itself, so the kernel writes the parameter's buffer: ``p -= lr * g`` in the flat buffer, no copy).
Intermediates are locals. Float arithmetic follows IEEE in the operation's dtype (``float`` for
float32: ``expf``... through the overloads of CUDA's device math library).
"""
from __future__ import annotations

import hashlib

from .fusion import Syntax, expression

C_TYPE = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long", "bool": "bool"}
_UNARY_C = {"exp": "exp({})", "log": "log({})", "sqrt": "sqrt({})", "abs": "abs({})", "tanh": "tanh({})", "erf": "erf({})",
            "neg": "(-{})", "ones_like": "1", "zeros_like": "0", "negative": "(-{})", "positive": "({})", "pos": "({})", "square": "({0} * {0})"}


_SYNTAX = Syntax(binary="({a} {op} {b})", select="({c} ? {a} : {b})", or_="||", unary=_UNARY_C,
                 cast=lambda nd, operand: f"(({C_TYPE[nd.dtype]}){operand(nd.operands[0], None)})")


def _lit(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v}LL" if abs(v) > 2**31 - 1 else str(v)
    return repr(float(v))


def _concat(nd, meta):
    """Element ``i`` of the concatenation of the raw 1-d parts: ``i < n0 ? r0[i] : i < n0+n1 ? r1[i-n0] : ...``
    (a raw array is indexed through its own strides)."""
    parts = [v for _, v in nd.operands]
    off, terms = 0, []
    for k, v in enumerate(parts):
        n = int(meta[v][0][0])
        idx = "i" if off == 0 else f"i - {off}"
        terms.append((off + n, f"r{v}[{idx}]"))
        off += n
    e = terms[-1][1]
    for end, t in reversed(terms[:-1]):
        e = f"(i < {end} ? {t} : {e})"
    return e


def body_of(group):
    """(in_params, out_params, operation) of the group's ElementwiseKernel."""
    meta = group.meta
    name = {}
    ins = []
    for v in group.inputs:
        name[v] = f"a{v}"
        ins.append(f"{meta[v][1]} a{v}")
    for v in getattr(group, "raw", ()):
        ins.append(f"raw {meta[v][1]} r{v}")
    sname = {}
    for i, s in enumerate(group.scalars):
        sname[id(s)] = f"s{i}"
        ins.append(f"float64 s{i}")
    outs = []
    for v in group.outputs:
        outs.append(f"{meta[v][1]} o{v}")
    for v in group.targets:
        name[v] = f"w{v}"
        outs.append(f"{meta[v][1]} w{v}")
    lines = []

    def operand(o, dtype):
        ctype = C_TYPE[dtype] if dtype else None
        kind, x = o
        if kind == "var":
            src = name[x]
        elif kind == "sym":
            src = sname[id(x)]
        else:
            src = _lit(x)
        return f"(({ctype}){src})" if ctype else src

    for nd in group.nodes:
        e = _concat(nd, meta) if nd.fn == "concat" else expression(nd, meta, operand, _SYNTAX)
        out_ct = C_TYPE[nd.dtype]
        if nd.inplace:
            lines.append(f"{name[nd.out]} = ({out_ct}){e};")
        else:
            name[nd.out] = f"t{nd.out}"
            lines.append(f"{out_ct} t{nd.out} = ({out_ct}){e};")
    for v in group.outputs:
        lines.append(f"o{v} = t{v};")
    return ", ".join(ins), ", ".join(outs), "\n".join(lines)


def kernel_name(in_params, out_params, operation):
    h = hashlib.sha256(f"{in_params}|{out_params}|{operation}".encode()).hexdigest()[:12]
    return f"xpnet_fused_{h}"


class _ElementwiseSource:
    """What tests/nvrtc_fused_check.py compiles of a kernel built from one ``ElementwiseKernel``
    operation (``spec``), and its source."""

    def spec(self):
        """``[name, in_params, out_params, operation, options]``."""
        return [self.name, self.in_params, self.out_params, self.operation, list(self.options)]

    @property
    def source(self):
        return self.operation


class CupyGroupKernel(_ElementwiseSource):
    """Calls the group's ElementwiseKernel: ``(*inputs, *scalars, *targets) -> new outputs`` (a tuple)."""

    def __init__(self, cupy, group):
        self.cupy = cupy
        self.in_params, self.out_params, self.operation = body_of(group)
        self.name = kernel_name(self.in_params, self.out_params, self.operation)
        self.options = ("--fmad=false",)  # no a*b+c contraction into fma: the bits of CuPy's one-op kernels
        self.kernel = cupy.ElementwiseKernel(self.in_params, self.out_params, self.operation, self.name,
                                             options=self.options)
        self.n_in = len(group.inputs) + len(group.raw) + len(group.scalars)
        self.new = [(group.shape, group.meta[v][1]) for v in group.outputs]
        self.n_targets = len(group.targets)
        self.ops = group.source_ops
        self.group = group

    def __call__(self, *args):
        if not self.n_targets:
            out = self.kernel(*args)
            return out if type(out) is tuple else (out,)
        if not self.new:
            self.kernel(*args)
            return ()
        outs = tuple(self.cupy.empty(s, dtype=d) for s, d in self.new)
        self.kernel(*args[:self.n_in], *outs, *args[self.n_in:])
        return outs

    def __repr__(self):
        return f"<fused {self.name}: {self.ops} ops>"


# --------------------------------------------------------------------------------------------
# reductions with an elementwise prologue: one cupy.ReductionKernel
# reduce_expr, identity (by C type) and post_map_expr of each kind; ``max`` keeps a NaN (as cupy.max)
REDUCE = {"sum": "a + b", "mean": "a + b", "max": "(a != a || a > b) ? a : b"}
IDENTITY = {("sum", "float"): "0", ("sum", "double"): "0", ("mean", "float"): "0", ("mean", "double"): "0",
            ("max", "float"): "__int_as_float(0xff800000)", ("max", "double"): "__longlong_as_double(0xfff0000000000000LL)"}


def reduction_source(red):
    """(in_params, out_params, map_expr, reduce_expr, post_map_expr, identity, reduce_type, preamble, name)
    of the reduction's ReductionKernel. The prologue is a ``__device__`` function of the inputs (in the
    preamble) returning the value reduced; ``mean`` divides by the element count after the sum, as
    ``cupy.mean`` (a float division in the array's dtype)."""
    meta = red.meta
    ct = C_TYPE[meta[red.out][1]]
    name, ins, args, fparams, lines = _prologue(red.inputs, red.scalars, red.nodes, meta)
    ret = name[red.value]
    post = f"y = a / ({ct}){red.count}" if red.kind == "mean" else "y = a"
    in_params, out_params = ", ".join(ins), f"{meta[red.out][1]} y"
    h = hashlib.sha256(f"{red.kind}|{red.axis}|{red.keepdims}|{in_params}|{lines}|{ret}|{post}".encode()).hexdigest()[:12]
    kname = f"xpnet_reduce_{red.kind}_{h}"
    preamble = (f"__device__ {ct} {kname}_map({', '.join(fparams)}) {{\n" + "\n".join(lines)
                + f"\n  return {ret};\n}}\n")
    return (in_params, out_params, f"{kname}_map({', '.join(args)})", REDUCE[red.kind], post,
            IDENTITY[(red.kind, ct)], ct, preamble, kname)


def _prologue(inputs, scalars, nodes, meta):
    """The pieces of a reduction's ``__device__`` prologue: (var -> C name, the kernel's in-params, the
    call's arguments, the function's parameters, the body lines computing ``nodes``)."""
    name, ins, args, fparams = {}, [], [], []
    for v in inputs:
        name[v] = f"a{v}"
        ins.append(f"{meta[v][1]} a{v}")
        args.append(f"a{v}")
        fparams.append(f"{C_TYPE[meta[v][1]]} a{v}")
    sname = {}
    for i, sc in enumerate(scalars):
        sname[id(sc)] = f"s{i}"
        ins.append(f"float64 s{i}")
        args.append(f"s{i}")
        fparams.append(f"double s{i}")

    def operand(o, dtype):
        ctype = C_TYPE[dtype] if dtype else None
        kind, x = o
        src = name[x] if kind == "var" else (sname[id(x)] if kind == "sym" else _lit(x))
        return f"(({ctype}){src})" if ctype else src

    lines = []
    for nd in nodes:
        e = expression(nd, meta, operand, _SYNTAX)
        out_ct = C_TYPE[nd.dtype]
        name[nd.out] = f"t{nd.out}"
        lines.append(f"  {out_ct} t{nd.out} = ({out_ct}){e};")
    return name, ins, args, fparams, lines


def multi_reduction_source(mr):
    """:func:`reduction_source` of a :class:`~.fusion.MultiReduction`: the reduced value is a plain struct
    (field ``vK``: part ``K``'s value; trivially constructible, as CuPy keeps it in shared memory), the
    map, identity and combine are ``__device__`` functions of the preamble; the combine is written
    ``NAME_of(<field 0's reduce_expr>, ...)`` over ``a.vK``/``b.vK``; the outputs ``yK`` get their
    field (``mean``'s divided by its count), in one expression joined by commas (CuPy parenthesises
    ``post_map_expr``)."""
    meta = mr.meta
    name, ins, args, fparams, lines = _prologue(mr.inputs, mr.scalars, mr.nodes, meta)
    cts = [C_TYPE[meta[p.out][1]] for p in mr.parts]
    fields = [f"v{k}" for k in range(len(mr.parts))]
    h = hashlib.sha256(f"{[p.kind for p in mr.parts]}|{mr.axis}|{mr.keepdims}|{ins}|{lines}|"
                       f"{[name[p.value] for p in mr.parts]}".encode()).hexdigest()[:12]
    kname = f"xpnet_reduce_{'_'.join(p.kind for p in mr.parts)}_{h}"
    st = f"{kname}_t"
    decl = "".join(f" {ct} {f};" for ct, f in zip(cts, fields))
    ctor = ", ".join(f"{ct} {f}" for ct, f in zip(cts, fields))
    set_ = " ".join(f"r.{f} = {f};" for f in fields)
    ident = []
    for p, ct in zip(mr.parts, cts):
        ident.append(IDENTITY[(p.kind, ct)])
    preamble = (f"struct {st} {{{decl} }};\n"
                f"__device__ {st} {kname}_of({ctor}) {{ {st} r; {set_} return r; }}\n"
                f"__device__ {st} {kname}_zero() {{ return {kname}_of({', '.join(ident)}); }}\n"
                f"__device__ {st} {kname}_map({', '.join(fparams)}) {{\n" + "\n".join(lines)
                + f"\n  return {kname}_of({', '.join(name[p.value] for p in mr.parts)});\n}}\n")
    red = ", ".join(REDUCE[p.kind].replace("a", f"a.{f}").replace("b", f"b.{f}") for p, f in zip(mr.parts, fields))
    posts = []
    for k, p in enumerate(mr.parts):
        posts.append(f"y{k} = a.v{k} / ({cts[k]}){p.count}" if p.kind == "mean" else f"y{k} = a.v{k}")
    outs = ", ".join(f"{meta[p.out][1]} y{k}" for k, p in enumerate(mr.parts))
    return (", ".join(ins), outs, f"{kname}_map({', '.join(args)})", f"{kname}_of({red})", ", ".join(posts),
            f"{kname}_zero()", st, preamble, kname)


class CupyReductionKernel:
    """Calls the reduction's ReductionKernel: ``(*inputs, *scalars) -> the reduced array`` (a tuple of
    them for a :class:`~.fusion.MultiReduction`)."""

    def __init__(self, cupy, red):
        from .fusion import MultiReduction

        src = multi_reduction_source(red) if isinstance(red, MultiReduction) else reduction_source(red)
        (self.in_params, self.out_params, self.map_expr, self.reduce_expr, self.post_map_expr, self.identity,
         self.reduce_type, self.preamble, self.name) = src
        self.options = ("--fmad=false",)
        self.axis, self.keepdims = red.axis, red.keepdims
        self.kernel = cupy.ReductionKernel(self.in_params, self.out_params, self.map_expr, self.reduce_expr,
                                           self.post_map_expr, self.identity, self.name, reduce_type=self.reduce_type,
                                           preamble=self.preamble, options=self.options)
        self.ops = red.source_ops
        self.reduction = red

    def __call__(self, *args):
        return self.kernel(*args, axis=self.axis, keepdims=self.keepdims)

    def spec(self):
        """``["reduction", name, in_params, out_params, map_expr, reduce_expr, post_map_expr, identity,
        reduce_type, preamble, options]`` (what tests/nvrtc_fused_check.py compiles)."""
        return ["reduction", self.name, self.in_params, self.out_params, self.map_expr, self.reduce_expr,
                self.post_map_expr, self.identity, self.reduce_type, self.preamble, list(self.options)]

    @property
    def source(self):
        return self.preamble

    def __repr__(self):
        return f"<fused reduction {self.name}: {self.ops} ops>"


# --------------------------------------------------------------------------------------------
# a small group run by the first threads of a bigger group's kernel
def side_body(big, small):
    """(in_params, out_params, operation) of ``big``'s ElementwiseKernel with ``small`` appended: the
    threads ``i < size(small)`` also compute ``small``'s element ``i``; its arrays of its own shape are
    ``raw`` parameters (passed flat, C-contiguous), its 0-d inputs ordinary (broadcast) ones."""
    ins, outs, body = body_of(big)
    meta = small.meta
    n = 1
    for d in small.shape:
        n *= int(d)
    name, extra_in, extra_out = {}, [], []
    for v in small.inputs:
        if tuple(meta[v][0]) == ():
            name[v] = f"b{v}"
            extra_in.append(f"{meta[v][1]} b{v}")
        else:
            name[v] = f"x{v}[i]"
            extra_in.append(f"raw {meta[v][1]} x{v}")
    sname = {}
    for k, s in enumerate(small.scalars):
        sname[id(s)] = f"z{k}"
        extra_in.append(f"float64 z{k}")
    for v in small.outputs:
        extra_out.append(f"raw {meta[v][1]} q{v}")
    for v in small.targets:
        name[v] = f"y{v}[i]"
        extra_out.append(f"raw {meta[v][1]} y{v}")

    def operand(o, dtype):
        ctype = C_TYPE[dtype] if dtype else None
        kind, x = o
        src = name[x] if kind == "var" else (sname[id(x)] if kind == "sym" else _lit(x))
        return f"(({ctype}){src})" if ctype else src

    lines = [f"if (i < {n}) {{"]
    for nd in small.nodes:
        e = expression(nd, meta, operand, _SYNTAX)
        out_ct = C_TYPE[nd.dtype]
        if nd.inplace:
            lines.append(f"  {name[nd.out]} = ({out_ct}){e};")
        else:
            name[nd.out] = f"t{nd.out}"
            lines.append(f"  {out_ct} t{nd.out} = ({out_ct}){e};")
    for v in small.outputs:
        lines.append(f"  q{v}[i] = t{v};")
    lines.append("}")
    join = lambda a, b: ", ".join(p for p in (a, ", ".join(b)) if p)  # noqa: E731
    return join(ins, extra_in), join(outs, extra_out), body + "\n" + "\n".join(lines)


class CupySideKernel(_ElementwiseSource):
    """``big``'s kernel also computing ``small`` (:func:`side_body`): one launch for both. Called as
    :func:`xpnet.compile.fusion.side_op` lays out the arguments; where an array of ``small`` is not
    C-contiguous at run time (a view that a flat index cannot address), the two kernels run apart."""

    def __init__(self, cupy, big, small):
        self.cupy = cupy
        self.in_params, self.out_params, self.operation = side_body(big, small)
        self.name = kernel_name(self.in_params, self.out_params, self.operation)
        self.options = ("--fmad=false",)
        self.kernel = cupy.ElementwiseKernel(self.in_params, self.out_params, self.operation, self.name,
                                             options=self.options)
        self.big, self.small = CupyGroupKernel(cupy, big), CupyGroupKernel(cupy, small)
        self.nb = len(big.inputs) + len(big.raw) + len(big.scalars)
        self.ns = len(small.inputs) + len(small.scalars)
        self.nbt, self.nst = len(big.targets), len(small.targets)
        self.big_new = [(big.shape, big.meta[v][1]) for v in big.outputs]
        self.small_new = [(small.shape, small.meta[v][1]) for v in small.outputs]
        self.flat = [i for i, v in enumerate(small.inputs) if tuple(small.meta[v][0]) != ()]
        self.ops = big.source_ops + small.source_ops
        self.group = None  # not a plain group any more

    def __call__(self, *args):
        nb, ns, nbt = self.nb, self.ns, self.nbt
        b_in, s_in = args[:nb], args[nb:nb + ns]
        b_t, s_t = args[nb + ns:nb + ns + nbt], args[nb + ns + nbt:]
        whole = [s_in[i] for i in self.flat] + list(s_t)
        if not all(a.flags.c_contiguous for a in whole):
            outs = self.big(*b_in, *b_t)
            return tuple(outs) + tuple(self.small(*s_in, *s_t))
        cp = self.cupy
        s_in = list(s_in)
        for i in self.flat:
            s_in[i] = s_in[i].reshape(-1)
        b_new = tuple(cp.empty(s, dtype=d) for s, d in self.big_new)
        s_new = tuple(cp.empty(s, dtype=d) for s, d in self.small_new)
        self.kernel(*b_in, *s_in, *b_new, *b_t, *[a.reshape(-1) for a in s_new], *[a.reshape(-1) for a in s_t])
        return b_new + s_new

    def __repr__(self):
        return f"<fused {self.name}: {self.ops} ops, with a side group>"
