"""Compile the fusion pass's generated ``ElementwiseKernel`` and ``ReductionKernel`` sources with NVRTC (sm_80, sm_90), as CuPy
builds them at launch, with no GPU: ``python tests/nvrtc_fused_check.py KERNELS.json`` where the file
holds ``[[name, in_params, out_params, operation, options], ...]`` (and reductions, see
:func:`reduction_sources`) (tests/test_compile_fusion.py writes it from
the compiled W1–W3 plans). Run where ``import cupy`` is the real CuPy. Reuses tests/nvrtc_check.py's
NVRTC call; the argument infos carry each parameter's own dtype (the generated kernels use concrete
types: float32 arrays, int64 labels, bool masks, float64 runtime scalars passed as scalars). Prints
one JSON line per compile; exits 1 if any fails."""
from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import nvrtc_check  # noqa: E402


def reduction_sources(spec, header):
    """A ReductionKernel spec ``["reduction", name, in_params, out_params, map_expr, reduce_expr,
    post_map_expr, identity, reduce_type, preamble, options]`` as CuPy generates it (CuPy 14.2.0's
    ``_ReductionKernel_get_cached_function_code``): a 2-d input reduced to 1-d and a full reduction."""
    import cupy
    import numpy as np
    from cupy._core import _carray, _scalar, core
    from cupy._core import _kernel as k
    from cupy._core import _reduction as r

    _, name, ins, outs, map_expr, reduce_expr, post_map_expr, identity, reduce_type, preamble, options = spec
    in_p, out_p = k._get_param_info(ins, True), k._get_param_info(outs, False)
    params = in_p + out_p + k._get_param_info("CIndexer _in_ind, CIndexer _out_ind", False) \
        + k._get_param_info("int32 _block_stride", True)
    for in_nd, out_nd, label in ((2, 1, "axis"), (1, 0, "full")):
        infos = []
        for p in in_p:
            if p.name.startswith("s"):  # runtime scalars
                infos.append(k._ArgInfo(3, _scalar.CScalar, p.dtype, 0, True, True))
            else:
                infos.append(k._ArgInfo(1, cupy.ndarray, p.dtype, in_nd, True, True))
        infos += [k._ArgInfo(1, cupy.ndarray, p.dtype, out_nd, True, True) for p in out_p]
        infos += [k._ArgInfo(2, _carray.Indexer, None, in_nd, True, True),
                  k._ArgInfo(2, _carray.Indexer, None, out_nd, True, True),
                  k._ArgInfo(3, _scalar.CScalar, np.dtype("int32"), 0, True, True)]
        code = r._ReductionKernel_get_cached_function_code(
            len(in_p), len(out_p), params, tuple(infos), k._TypeMap((("IndexT", "int"),)), name, 512, reduce_type, identity,
            map_expr, reduce_expr, post_map_expr, preamble, tuple(options))
        yield name, label, header + code, core.assemble_cupy_compiler_options(tuple(options))


def sources(kernels):
    import cupy
    from cupy._core import _carray, _scalar, core
    from cupy._core import _kernel as k

    header = "".join(f"#include <{h}>\n" for h in core._cupy_header_list)
    for spec in kernels:
        if spec[0] == "reduction":
            yield from reduction_sources(spec, header)
            continue
        name, ins, outs, body, options = spec
        in_p, out_p = k._get_param_info(ins, True), k._get_param_info(outs, False)
        params = in_p + out_p + (k.ParameterInfo("CIndexer _ind", False),)
        for ndim, contiguous, index_32, label in ((1, True, True, "contiguous"), (2, False, True, "strided")):
            infos = []
            for p in in_p + out_p:
                if p.name.startswith("s"):  # runtime scalars
                    infos.append(k._ArgInfo(3, _scalar.CScalar, p.dtype, 0, True, True))
                elif p.raw:  # a 1-d array read whole (a concatenation's part), through its own strides
                    infos.append(k._ArgInfo(1, cupy.ndarray, p.dtype, 1, contiguous, index_32))
                else:
                    infos.append(k._ArgInfo(1, cupy.ndarray, p.dtype, ndim, contiguous, index_32))
            infos = tuple(infos) + (k._ArgInfo(2, _carray.Indexer, None, ndim, True, index_32),)
            code = k._get_elementwise_kernel_code(infos, k._TypeMap(()), params, body, name, "")
            yield name, label, header + code, core.assemble_cupy_compiler_options(tuple(options))


def main(argv) -> int:
    import cupy

    if cupy.__version__ != nvrtc_check.PINNED_CUPY:
        print(json.dumps({"error": f"relies on CuPy {nvrtc_check.PINNED_CUPY} internals, found {cupy.__version__}"}))
        return 2
    kernels = json.loads(pathlib.Path(argv[0]).read_text(encoding="utf-8"))
    failed = 0
    for name, label, src, options in sources(kernels):
        for arch in nvrtc_check.ARCHS:
            ok, log, regs, spills = nvrtc_check.compile_cubin(src, options, arch)
            failed += not ok
            print(json.dumps({"kernel": name, "variant": label, "arch": f"sm_{arch}", "ok": ok, "registers": regs,
                              "spill_bytes": spills, "log": log if not ok else None}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
