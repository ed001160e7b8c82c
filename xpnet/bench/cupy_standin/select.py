# purity: host -- a strict host-memory stand-in for CuPy (counts device ops and host reads); not engine code
"""Which CuPy the test suite's ``cupy`` namespace runs on.

``XPNET_CUPY_STANDIN``: ``auto`` (default) uses the real CuPy when it sees a GPU and the stand-in
otherwise; ``1`` always the stand-in; ``0`` never (the entry is then skipped without a GPU).
The namespace id says which ran: ``cupy`` on a GPU, ``cupy-standin`` on the stand-in.
"""
from __future__ import annotations

import os


def real_cupy_reason():
    """None when the real CuPy sees a GPU, else why not (one line)."""
    try:
        import cupy
    except ImportError as e:
        return f"not installed ({e})"
    if getattr(cupy, "__version__", "").endswith("+standin"):
        return "the stand-in is installed"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None if n > 0 else "no CUDA GPU visible"


def cupy_namespace_entry():
    mode = os.environ.get("XPNET_CUPY_STANDIN", "auto").strip().lower()
    if mode in ("1", "true", "yes") or (mode == "auto" and real_cupy_reason() is not None):
        from . import install

        install()
        return ("cupy-standin", "cupy", None)
    return ("cupy", "cupy", None)
