"""Where runs execute: in this process, in N local processes, or on a Dask cluster.

Every executor takes job dicts (see :func:`.worker.execute`) and yields ``(index, result)`` as runs
finish. Results are computed by the same function with the same seeds everywhere, so the numbers do
not depend on the executor.
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os

from .worker import blas_env, execute, init_worker


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


class SerialExecutor:
    """Runs one after another in this process (threads as the libraries choose)."""

    name = "serial"

    def describe(self) -> str:
        return f"serial: 1 run at a time in this process ({cpu_count()} cores available)"

    def map_unordered(self, jobs):
        for i, job in enumerate(jobs):
            yield i, execute({**job, "threads": None})

    def close(self, cancel: bool = False) -> None:
        pass


class ProcessExecutor:
    """``workers`` local processes (forkserver where available, else spawn: no state inherited from
    this process); each capped at ``threads = max(1, cores // workers)`` BLAS/OpenMP threads so that
    workers × threads ≤ cores."""

    name = "processes"

    def __init__(self, workers: int, threads: int | None = None):
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: expected a positive int, got {workers!r}")
        self.workers = workers
        self.threads = threads or max(1, cpu_count() // workers)
        methods = mp.get_all_start_methods()
        self.method = "forkserver" if "forkserver" in methods else "spawn"
        self._pool = None
        self._saved_env = None

    def describe(self) -> str:
        return (f"processes: {self.workers} workers ({self.method}) × {self.threads} BLAS thread(s) each "
                f"on {cpu_count()} cores")

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor

        env = blas_env(self.threads)
        self._saved_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # read by NumPy's BLAS when a worker imports it
        self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context(self.method),
                                         initializer=init_worker, initargs=(self.threads,))

    def map_unordered(self, jobs):
        from concurrent.futures import FIRST_COMPLETED, wait

        if self._pool is None:
            self._start()
        futures = {self._pool.submit(execute, {**job, "threads": self.threads, "limit_here": False}): i
                   for i, job in enumerate(jobs)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield futures[f], f.result()

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None
        if self._saved_env is not None:
            for k, v in self._saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            self._saved_env = None


class DaskExecutor:
    """A Dask ``distributed`` cluster: a new ``LocalCluster`` of ``workers`` single-threaded processes,
    or an existing scheduler at ``address`` (e.g. one started by dask-jobqueue on Slurm or by
    dask-kubernetes). Needs ``pip install "xpnet[dask]"``. Run folders are written by the workers, so a
    remote cluster needs a shared file system for them; the metrics and curves come back to this
    process either way."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ImportError('--dask/--scheduler need dask.distributed: pip install "xpnet[dask]"') from None
        self.address = address
        self._cluster = None
        if address is None:
            self.workers = workers or cpu_count()
            self.threads = max(1, cpu_count() // self.workers)
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster)
        else:
            self.client = Client(address)
            self.workers = len(self.client.scheduler_info().get("workers", {}))
            self.threads = None
        self._futures = []

    def describe(self) -> str:
        where = f"scheduler {self.address}" if self.address else f"LocalCluster at {self.client.scheduler.address}"
        threads = f" × {self.threads} BLAS thread(s)" if self.threads else ""
        return f"dask: {where}, {self.workers} worker(s){threads}"

    def map_unordered(self, jobs):
        from dask.distributed import as_completed

        futures = {}
        for i, job in enumerate(jobs):
            f = self.client.submit(execute, {**job, "threads": self.threads}, pure=False)
            futures[f.key] = i
            self._futures.append(f)
        for f in as_completed(list(self._futures)):
            yield futures[f.key], f.result()
        self._futures = []

    def close(self, cancel: bool = False) -> None:
        with contextlib.suppress(Exception):
            if cancel and self._futures:
                self.client.cancel(self._futures)
            self.client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def make_executor(workers: int | None = None, dask: bool = False, scheduler: str | None = None):
    if scheduler:
        return DaskExecutor(address=scheduler)
    if dask:
        return DaskExecutor(workers=workers)
    if workers and workers > 1:
        return ProcessExecutor(workers)
    return SerialExecutor()
