# purity: host -- a strict host-memory stand-in for CuPy (counts device ops and host reads); not engine code
"""CuPy ``ElementwiseKernel`` bodies compiled with the host C++ compiler and run over NumPy buffers.

A body is the CUDA-C snippet CuPy pastes into its generated loop (``cupy/_core/_kernel.pyx``): input
parameters are read-only values, output parameters are the element being written. Here the same
snippet goes into a host loop ``for (i = 0; i < n; ++i) { const T x = in0[i]; T y; BODY; out0[i] = y; }``
compiled by ``g++`` (``CXX``) once per body into a shared library (cached by content hash) and called
through ctypes. ``<cmath>`` gives the float and double overloads of ``erf``, ``exp``… that CUDA's
device math library gives, so ``T = float`` runs the float32 arithmetic the GPU runs.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import numpy as np

_CTYPES = {"float": ctypes.c_float, "double": ctypes.c_double}
_C_OF_DTYPE = {np.dtype("float32"): "float", np.dtype("float64"): "double"}
_CONCRETE = {"float32": "float", "float64": "double", "int64": "long long", "int32": "int", "bool": "bool"}
_PARAM = re.compile(r"^\s*(\w+)\s+(\w+)\s*$")


class HostCompilerMissing(RuntimeError):
    """No host C++ compiler found (CXX, g++, c++, clang++)."""


def compiler() -> str:
    for c in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if c and shutil.which(c):
            return shutil.which(c)
    raise HostCompilerMissing("no host C++ compiler: set CXX or install g++")


def parse_params(spec: str):
    """``"T x, float32 y"`` → [("T", "x"), ("float32", "y")]; raw/pointer parameters are refused."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        m = _PARAM.match(part)
        if not m or m.group(1) == "raw":
            raise ValueError(f"host kernel: unsupported parameter {part!r} (expected 'TYPE name')")
        out.append((m.group(1), m.group(2)))
    return out


def split_raw(spec: str):
    """``"float32 x, raw float32 r"`` → (``"float32 x, float32 r"``, {"r"}): CuPy's ``raw`` parameters (read
    whole, indexed by the kernel, not broadcast)."""
    parts, raw = [], set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part.startswith("raw "):
            part = part[4:].strip()
            raw.add(part.split()[-1])
        parts.append(part)
    return ", ".join(parts), raw


def source(name: str, in_params: str, out_params: str, body: str, preamble: str = "", raw=()) -> str:
    """C++ source with one ``extern "C"`` loop per floating type: ``{name}_float`` and ``{name}_double``
    (``preamble``: CUDA-C functions defined before them, ``__device__`` read as a host function)."""
    ins, outs = parse_params(in_params), parse_params(out_params)
    lines = ["#include <cmath>", "#include <cstdint>", "using namespace std;"]
    if preamble:  # CUDA's device qualifiers and bit-cast intrinsics, on the host
        lines += ["#include <cstring>", "#define __device__ static", "#define __forceinline__ inline",
                  "static inline float __int_as_float(unsigned int x) { float f; memcpy(&f, &x, 4); return f; }",
                  "static inline double __longlong_as_double(unsigned long long x) "
                  "{ double d; memcpy(&d, &x, 8); return d; }", preamble]
    for ct in ("float", "double"):
        ty = lambda t: ct if t == "T" else _CONCRETE[t]
        args = ["long long n"] + [f"const {ty(t)}* {'' if v in raw else '__restrict '}in_{v}" for t, v in ins] \
            + [f"{ty(t)}* {'' if v in raw else '__restrict '}out_{v}" for t, v in outs]
        lines.append(f'extern "C" void {name}_{ct}({", ".join(args)}) {{')
        lines.append(f"  typedef {ct} T;")
        lines.append("  for (long long i = 0; i < n; ++i) {")
        lines += [f"    const {ty(t)}* {v} = in_{v};" if v in raw else f"    const {ty(t)} {v} = in_{v}[i];" for t, v in ins]
        lines += [f"    {ty(t)}* {v} = out_{v};" if v in raw else f"    {ty(t)} {v} = out_{v}[i];"
                  for t, v in outs]  # outputs are read-write, as in CuPy
        lines.append(f"    {{ {body} }}")
        lines += [f"    out_{v}[i] = {v};" for t, v in outs if v not in raw]
        lines.append("  }")
        lines.append("}")
    return "\n".join(lines) + "\n"


def _cache_dir() -> pathlib.Path:
    d = pathlib.Path(os.environ.get("XPNET_CACHE") or tempfile.gettempdir()) / f"xpnet-hostkernels-{os.getuid()}"
    d.mkdir(parents=True, exist_ok=True)
    return d


_LOADED: dict = {}


def compile_source(src: str, flags=("-O2",)) -> ctypes.CDLL:
    """Compile ``src`` into a shared library (cached by content) and load it; a compile error raises
    ``RuntimeError`` with the compiler's log."""
    key = hashlib.sha256((src + " ".join(flags)).encode()).hexdigest()[:20]
    lib = _LOADED.get(key)
    if lib is not None:
        return lib
    so = _cache_dir() / f"k{key}.so"
    if not so.exists():
        cpp = so.with_suffix(".cpp")
        cpp.write_text(src, encoding="utf-8")
        tmp = so.with_suffix(f".{os.getpid()}.so")
        r = subprocess.run([compiler(), *flags, "-fPIC", "-shared", "-o", str(tmp), str(cpp)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"host compile failed:\n{r.stderr}")
        os.replace(tmp, so)
    lib = _LOADED[key] = ctypes.CDLL(str(so))
    return lib


class HostElementwise:
    """An elementwise body run on the host: ``HostElementwise(in_params, out_params, body, name)(*arrays)``
    with NumPy arrays (broadcast, all ``T`` arguments of one dtype: float32 or float64)."""

    def __init__(self, in_params, out_params, body, name, preamble=""):
        in_params, self.raw = split_raw(in_params)
        out_params, raw_out = split_raw(out_params)
        self.raw |= raw_out
        self.ins, self.outs, self.name = parse_params(in_params), parse_params(out_params), name
        self.lib = compile_source(source(name, in_params, out_params, body, preamble, self.raw))

    def __call__(self, *args):
        """``(*inputs)`` → new outputs, or ``(*inputs, *outputs)`` → the outputs updated in place
        (C-contiguous arrays of the broadcast shape), as CuPy's ElementwiseKernel call."""
        n_in = len(self.ins)
        if len(args) not in (n_in, n_in + len(self.outs)):
            raise TypeError(f"{self.name}: expected {n_in} inputs (and optionally {len(self.outs)} outputs), got {len(args)}")
        given = args[n_in:]
        params = self.ins + self.outs[:len(given)]
        t_dtypes = {a.dtype for (t, _), a in zip(params, args) if t == "T" and isinstance(a, np.ndarray)}
        if len(t_dtypes) > 1:
            raise TypeError(f"{self.name}: type T bound to several dtypes {sorted(map(str, t_dtypes))}")
        dtype = t_dtypes.pop() if t_dtypes else np.dtype("float64")
        if dtype not in _C_OF_DTYPE:
            raise TypeError(f"{self.name}: host kernels take float32 or float64, got {dtype}")
        ct = _C_OF_DTYPE[dtype]
        dt = lambda t: dtype if t == "T" else np.dtype(t)
        ins = [np.asarray(a, dtype=dt(t)) for (t, _), a in zip(self.ins, args[:n_in])]
        is_raw = [v in self.raw for _, v in self.ins]
        for (t, v), a, r in zip(self.ins, ins, is_raw):
            if r and a.dtype != dt(t):
                raise TypeError(f"{self.name}: raw {v} must be {dt(t)}, got {a.dtype}")
        out_raw = [v in self.raw for _, v in self.outs]
        if len(given) < len(self.outs) and any(out_raw):
            raise ValueError(f"{self.name}: raw outputs must be given")
        shape = np.broadcast_shapes(*[a.shape for a, r in zip(ins, is_raw) if not r],
                                    *[a.shape for a, r in zip(given, out_raw) if not r])
        ins = [np.ascontiguousarray(a).reshape(-1) if r else np.ascontiguousarray(np.broadcast_to(a, shape))
               for a, r in zip(ins, is_raw)]
        outs, back = [], []
        for (t, v), a in zip(self.outs, list(given) + [None] * (len(self.outs) - len(given))):
            if v in self.raw:
                if a.dtype != dt(t) or not a.flags.c_contiguous:
                    raise ValueError(f"{self.name}: raw output {v} must be C-contiguous {dt(t)}, got {a.dtype}")
                outs.append(a)
                continue
            if a is None:
                a = np.zeros(shape, dtype=dt(t))
            elif a.shape != shape or a.dtype != dt(t):
                raise ValueError(f"{self.name}: output {v} must be {dt(t)} of shape {shape}, got {a.dtype} {a.shape}")
            elif not a.flags.c_contiguous:  # a strided view (CuPy writes through its strides): a copy written back
                back.append((a, len(outs)))
                a = np.ascontiguousarray(a)
            outs.append(a)
        fn = getattr(self.lib, f"{self.name}_{ct}")
        ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)
        fn(ctypes.c_longlong(int(np.prod(shape))), *[ptr(a) for a in ins], *[ptr(a) for a in outs])
        for a, k in back:
            np.copyto(a, outs[k])
            outs[k] = a
        return outs[0] if len(outs) == 1 else tuple(outs)
