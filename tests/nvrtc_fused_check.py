"""Compile the fusion pass's generated ``ElementwiseKernel`` sources with NVRTC (sm_80, sm_90), as CuPy
builds them at launch, with no GPU: ``python tests/nvrtc_fused_check.py KERNELS.json`` where the file
holds ``[[name, in_params, out_params, operation, options], ...]`` (tests/test_compile_fusion.py writes it from
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


def sources(kernels):
    import cupy
    from cupy._core import _carray, _scalar, core
    from cupy._core import _kernel as k

    header = "".join(f"#include <{h}>\n" for h in core._cupy_header_list)
    for name, ins, outs, body, options in kernels:
        in_p, out_p = k._get_param_info(ins, True), k._get_param_info(outs, False)
        params = in_p + out_p + (k.ParameterInfo("CIndexer _ind", False),)
        for ndim, contiguous, index_32, label in ((1, True, True, "contiguous"), (2, False, True, "strided")):
            infos = []
            for p in in_p + out_p:
                if p.name.startswith("s"):  # runtime scalars
                    infos.append(k._ArgInfo(3, _scalar.CScalar, p.dtype, 0, True, True))
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
    kernels = json.loads(pathlib.Path(argv[0]).read_text())
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
