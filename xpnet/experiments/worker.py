"""What runs inside a worker (a local process, a Dask worker or the main process): one training run.

``execute(job)`` never raises for a failed run: the error (e.g. a non-finite loss) is returned as
``status = "failed"`` with its message so the other runs go on.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import time
import traceback

_BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def blas_env(threads: int) -> dict:
    """Environment variables that cap BLAS/OpenMP threads (read when NumPy/numba load)."""
    return {k: str(threads) for k in _BLAS_VARS}


def limit_threads(threads: int | None):
    """Cap the BLAS/OpenMP pools of this process (threadpoolctl when installed) and torch's."""
    if not threads:
        return None
    os.environ.update({k: v for k, v in blas_env(threads).items() if k != "NUMBA_NUM_THREADS"})
    limiter = None
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=threads)
    except ImportError:  # pragma: no cover - env vars still apply to libraries loaded later
        pass
    try:
        import sys

        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
    except Exception:  # pragma: no cover
        pass
    return limiter


def init_worker(threads: int) -> None:
    """Process-pool initializer: cap threads once per worker process."""
    global _LIMITER
    _LIMITER = limit_threads(threads)


_LIMITER = None


def _history(run_dir, result):
    if result.get("history") is not None:
        return result["history"]
    if run_dir is None:
        return None
    p = pathlib.Path(result.get("run_dir") or run_dir) / "history.json"
    try:
        h = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keep = ("loss", "accuracy", "val_loss", "val_accuracy")
    return {k: v for k, v in h.get("history", {}).items() if k in keep}


def execute(job: dict) -> dict:
    """Train ``job["config"]`` into ``job["run_dir"]``; return the metrics, the curves and a status."""
    from ._api import run_training

    run_dir = job.get("run_dir")
    if run_dir is not None and pathlib.Path(run_dir).exists():
        shutil.rmtree(run_dir, ignore_errors=True)  # a run that did not finish: start it afresh
    threads = job.get("threads")
    limiter = limit_threads(threads) if threads and job.get("limit_here", True) else None
    t0 = time.perf_counter()
    try:
        res = dict(run_training(job["config"], run_dir, progress=False, verbose=False, quiet=True))
        res["status"] = "ok"
        res["error"] = ""
        res["history"] = _history(run_dir, res)
    except Exception as e:  # recorded, not raised: one failed run must not stop the sweep
        res = {"status": "failed", "error": f"{type(e).__name__}: {e}",
               "traceback": traceback.format_exc(limit=6), "history": None}
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    res["wall_seconds"] = time.perf_counter() - t0
    res["pid"] = os.getpid()
    for k, v in list(res.items()):  # plain JSON types only (a Dask or process boundary is crossed)
        if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
            res[k] = v.item()
    if res.get("run_dir") is not None:
        res["run_dir"] = str(res["run_dir"])
    return res
