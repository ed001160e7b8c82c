"""Compile every CUDA source xpnet ships with NVRTC, for A100 (sm_80) and H100 (sm_90), with no GPU.

Run as a script (``python tests/nvrtc_check.py [--plant]``) in a process where ``import cupy`` is the
real CuPy (the test suite's process holds the stand-in, so tests/test_kernels_nvrtc.py runs this in
a subprocess). For each ``ElementwiseKernel`` in ``xpnet.backend.fast_cupy.ELEMENTWISE`` it builds
the code exactly as CuPy does at launch: ``cupy._core._kernel._get_elementwise_kernel_code`` over the
argument infos of float32/float64 arrays (contiguous, strided, 32- and 64-bit indexing), CuPy's
headers prepended (``cupy._core.core._cupy_header_list``), then the options
``compile_with_cache`` → ``_compile_with_cache_cuda`` → ``_compile_using_nvrtc_no_warning`` add
(``assemble_cupy_compiler_options``, ``-ftz=true``, ``-arch=sm_XX``,
``--device-as-default-execution-space``), and compiles with ``cupy.cuda.compiler._NVRTCProgram`` to
a cubin. ``compile_using_nvrtc`` itself is not used because it asks the device for its architecture.
``RAW`` kernels compile as ``RawKernel`` does (no CuPy headers). Prints one JSON line per compile;
exits 1 if any compile fails. ``--plant`` adds a kernel with an undefined identifier (must fail).

The internals used here are CuPy 14.2.0's (pinned in pyproject's test extra); another version stops
with a message instead of checking something else.
"""
from __future__ import annotations

import json
import re
import sys

PINNED_CUPY = "14.2.0"
ARCHS = ("80", "90")
PLANTED = {"xpnet_planted_broken": ("T x", "T y", "y = x * undefined_identifier;")}


def _arginfos(k, params, scalars, dtype, ndim, contiguous, index_32):
    """CuPy's argument infos at launch: arrays (ARG_KIND_NDARRAY = 1), Python scalars cast to the
    parameter type (ARG_KIND_SCALAR = 3), and the indexer (ARG_KIND_INDEXER = 2)."""
    import cupy
    from cupy._core import _carray, _scalar

    infos = []
    for p in params:
        if p.name in scalars:
            infos.append(k._ArgInfo(3, _scalar.CScalar, dtype, 0, True, True))
        else:
            infos.append(k._ArgInfo(1, cupy.ndarray, dtype, ndim, contiguous, index_32))
    return tuple(infos) + (k._ArgInfo(2, _carray.Indexer, None, ndim, True, index_32),)


def elementwise_sources(kernels, scalars=None):
    """(name, variant, CUDA source, options) for every kernel and argument variant CuPy can generate."""
    import numpy as np
    from cupy._core import _kernel as k
    from cupy._core import core

    header = "".join(f"#include <{h}>\n" for h in core._cupy_header_list)
    options = core.assemble_cupy_compiler_options(())
    for name, (ins, outs, body) in kernels.items():
        in_p, out_p = k._get_param_info(ins, True), k._get_param_info(outs, False)
        params = in_p + out_p + (k.ParameterInfo("CIndexer _ind", False),)
        for dtype in (np.float32, np.float64):
            ctypes = sorted({p.ctype for p in in_p + out_p if p.dtype is None})
            type_map = k._TypeMap(tuple((c, dtype) for c in ctypes))
            for ndim, contiguous, index_32, label in ((1, True, True, "contiguous"), (2, False, True, "strided"),
                                                     (1, True, False, "index64")):
                infos = _arginfos(k, in_p + out_p, (scalars or {}).get(name, ()), dtype, ndim, contiguous, index_32)
                code = k._get_elementwise_kernel_code(infos, type_map, params, body, name, "")
                yield name, f"{np.dtype(dtype).name}-{label}", header + code, options


def raw_sources(raw):
    from cupy._core import core

    options = core.assemble_cupy_compiler_options(())
    for name, code in raw.items():
        yield name, "raw", code, options


def compile_cubin(source, options, arch):
    """NVRTC → cubin for ``sm_{arch}``; returns (ok, log, registers, spill bytes)."""
    from cupy.cuda import compiler

    opts = tuple(options) + ("-ftz=true", f"-arch=sm_{arch}", "--device-as-default-execution-space",
                             "--ptxas-options=-v")
    prog = compiler._NVRTCProgram(source, "kern.cu", method="cubin")
    try:
        _, _ = prog.compile(opts, None)
    except compiler.CompileException as e:
        return False, str(e), None, None
    from cupy_backends.cuda.libs import nvrtc

    log = nvrtc.getProgramLog(prog.ptr)
    regs = [int(r) for r in re.findall(r"Used (\d+) registers", log)]
    spills = [int(a) + int(b) for a, b in re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", log)]
    return True, log, max(regs) if regs else None, max(spills) if spills else 0


def main(argv) -> int:
    try:
        import cupy
    except ImportError as e:
        print(json.dumps({"error": f"cupy is not installed ({e}): pip install 'cupy-cuda12x=={PINNED_CUPY}' "
                                   "nvidia-cuda-nvrtc-cu12"}))
        return 2
    if cupy.__version__ != PINNED_CUPY:
        print(json.dumps({"error": f"this check relies on CuPy {PINNED_CUPY} internals, found {cupy.__version__}"}))
        return 2
    from xpnet.backend import fast_cupy

    kernels = dict(fast_cupy.ELEMENTWISE)
    if "--plant" in argv:
        kernels.update(PLANTED)
    failed = 0
    jobs = list(elementwise_sources(kernels, fast_cupy.SCALARS)) + list(raw_sources(fast_cupy.RAW))
    for name, variant, src, options in jobs:
        for arch in ARCHS:
            ok, log, regs, spills = compile_cubin(src, options, arch)
            failed += not ok
            print(json.dumps({"kernel": name, "variant": variant, "arch": f"sm_{arch}", "ok": ok,
                              "registers": regs, "spill_bytes": spills,
                              "log": log if not ok else None}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
