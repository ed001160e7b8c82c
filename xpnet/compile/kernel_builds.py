"""Building a plan's generated kernels off the critical path: one background thread per process.

numba needs 1-2 s to compile the fused kernels of a new training step (W1-W3,
``benchmarks/results/cpu.md``). When the fused kernels give the same bits as the operations they
replace (``compile_fusion=True``: only correctly rounded operations fuse), ``xn.compile`` replays the
unfused plan at once and hands the kernels to this module's worker thread; the compiled function
switches to the fused plan between two replays, once every kernel is built (:class:`Build`). So the
numbers never depend on which plan ran, only the speed does. ``compile_fusion="all"`` (kernels that may
round ``exp``/``log`` differently) builds at the trace instead, so results never depend on timing.

The worker is a daemon thread; at interpreter exit an ``atexit`` hook drops the queued builds and
joins it after the kernel it is compiling (numba compiles one kernel in well under a second), so no
thread outlives the interpreter. :func:`wait` blocks until every queued build is done.
"""
from __future__ import annotations

import atexit
import collections
import os
import threading


class Build:
    """The kernels of one plan, built in the background. ``done``: set once every kernel was tried;
    ``error``: the first exception a build raised (then the fused plan is never used)."""

    __slots__ = ("kernels", "done", "error")

    def __init__(self, kernels):
        self.kernels = list(kernels)
        self.done = threading.Event()
        self.error = None

    def run(self, stop):
        try:
            for k in self.kernels:
                if stop.is_set():
                    self.error = RuntimeError("the interpreter is exiting")
                    return
                k.build()
        except Exception as e:  # noqa: BLE001 - kept and reported by CompiledFunction.wait
            self.error = e
        finally:
            self.done.set()

    @property
    def ok(self) -> bool:
        return self.done.is_set() and self.error is None


class _Worker:
    """The process's one build queue and its daemon thread (started on the first submit)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.queue: collections.deque = collections.deque()
        self.busy = 0  # builds queued or running
        self.stop = threading.Event()
        self.thread = None
        self.running = None  # the build the thread is working on
        self.held = ()  # locks held across a fork (see _before_fork)

    def submit(self, build: Build) -> Build:
        with self.cond:
            if self.stop.is_set():  # exiting: nothing new starts
                build.error = RuntimeError("the interpreter is exiting")
                build.done.set()
                return build
            self.queue.append(build)
            self.busy += 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="xpnet-kernel-builds", daemon=True)
                self.thread.start()
            self.cond.notify_all()
        return build

    def _loop(self):
        while True:
            with self.cond:
                while not self.queue and not self.stop.is_set():
                    self.cond.wait()
                if self.stop.is_set():
                    return
                build = self.running = self.queue.popleft()
            try:
                build.run(self.stop)
            finally:
                with self.cond:
                    self.running = None
                    self.busy -= 1
                    self.cond.notify_all()

    def wait(self, timeout=None) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.busy == 0, timeout)

    def shutdown(self):
        with self.cond:
            self.stop.set()
            dropped = list(self.queue)
            self.queue.clear()
            self.busy -= len(dropped)
            self.cond.notify_all()
            thread = self.thread
        for b in dropped:
            b.error = RuntimeError("the interpreter is exiting")
            b.done.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)


_WORKER = _Worker()  # a forked child starts it afresh (see _after_fork_child)
atexit.register(_WORKER.shutdown)


def _before_fork():
    """A fork while the thread compiles would copy numba's compiler lock held by a thread the child
    does not have: wait for the kernel being compiled, and hold the locks across the fork."""
    w = _WORKER
    if w.thread is None or not w.thread.is_alive():
        return
    import sys

    held = []
    cl = sys.modules.get("numba.core.compiler_lock")
    if cl is not None:
        cl.global_compiler_lock._lock.acquire()
        held.append(cl.global_compiler_lock._lock)
    w.cond.acquire()
    held.append(w.cond)
    w.held = held


def _after_fork_parent():
    w = _WORKER
    for lock in reversed(w.held):
        lock.release()
    w.held = ()


def _after_fork_child():
    """The child has no worker thread: a new worker takes over the builds not done yet."""
    w = _WORKER
    _after_fork_parent()
    todo = ([w.running] if w.running is not None else []) + list(w.queue)
    w.__init__()
    for b in todo:
        if not b.done.is_set():
            w.submit(b)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent, after_in_child=_after_fork_child)


def submit(kernels) -> Build:
    """Queue the building of ``kernels`` (objects with ``build()``) on the background thread."""
    return _WORKER.submit(Build(kernels))


def wait(timeout=None) -> bool:
    """Block until every queued kernel build is done (``timeout`` seconds at most); True if none is
    pending any more. Benchmarks call it (or ``CompiledFunction.wait``) before starting the clock."""
    return _WORKER.wait(timeout)


def pending() -> int:
    """The number of builds queued or running."""
    w = _WORKER
    with w.cond:
        return w.busy
