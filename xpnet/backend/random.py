"""Random numbers: per thread, one stream per backend and device, seeded by :func:`manual_seed`
called in that thread (or the main thread's seed); explicit :class:`Generator` objects for
``generator=`` arguments.

The Array API has no random module. Each backend makes its own native streams (protocol methods
``new_generator``, ``rng_state``, ``restore_rng``, ``normal``, ``uniform``, ``permutation``,
``dropout_mask`` of :class:`xpnet.backend.base.Backend`): NumPy, PyTorch and CuPy natively; the
generic backend (``array_api_strict``, user namespaces) draws on the host with NumPy and moves the
result. This module keeps the per-thread streams and the :class:`Generator` object.
Every caller (initialisers, dropout, shuffling) asks here, so one seed repeats a whole run.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .base import Backend
from .dtypes import dtype_name, resolve_dtype
from .registry import load


class _Process:
    """The process default seed, set by ``manual_seed`` in the main thread."""

    seed: int | None = None


_local = threading.local()  # per thread: .seed, .streams {backend key: Generator}, .override [Generator]


def manual_seed(seed: int) -> None:
    """Seed this thread's random streams (one per backend, created lazily from the seed).

    Called in the main thread it also sets the process default that threads which never call
    ``manual_seed`` start from; called in another thread it touches only that thread's streams, so
    seeded runs in parallel threads draw exactly what they draw alone (PyTorch's ``manual_seed``
    is process-global; pass ``generator=`` for the same isolation there)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    if int(seed) < 0:
        raise ValueError(f"manual_seed: seed must be >= 0, got {int(seed)}")
    if threading.current_thread() is threading.main_thread():
        _Process.seed = int(seed)
    _local.seed = int(seed)
    _local.streams = {}


def _key(b: Backend):
    return (b.name, str(b.device))


class Generator:
    """A random stream on one backend, as PyTorch's ``torch.Generator``: pass it as ``generator=`` to
    ``Dropout``, ``DataLoader`` or ``fit`` so that their draws depend on nothing else that runs.

    ``Generator(seed=None, backend=None)`` (``backend``: default the active one); ``manual_seed(seed)``,
    ``get_state()`` / ``set_state(state)`` (JSON-able, saved in checkpoints); ``native`` is the
    backend's own generator (NumPy ``Generator``, ``torch.Generator``, CuPy ``Generator``)."""

    def __init__(self, seed=None, backend=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise TypeError(f"Generator: seed must be an int >= 0 or None, got {seed!r}")
        self.backend = _backend(backend)
        self.seed = None if seed is None else int(seed)
        self.native = self.backend.new_generator(self.seed)

    def manual_seed(self, seed: int) -> "Generator":
        self.__init__(seed, self.backend)
        return self

    def get_state(self) -> dict:
        return self.backend.rng_state(self.native, self.seed)

    def set_state(self, state: dict) -> None:
        b = self.backend
        kind = state.get("kind") if isinstance(state, dict) else None
        if kind != b.rng_kind:
            raise ValueError(f"Generator.set_state: expected a {b.rng_kind!r} generator state, got {kind!r}")
        self.native = b.restore_rng(self.native, state)

    @staticmethod
    def current(backend=None) -> "Generator":
        """The stream draws on ``backend`` use now in this thread (a ``use_generator`` override, or the
        thread's own stream seeded by ``manual_seed``)."""
        b = _backend(backend)
        k = _key(b)
        for g in reversed(getattr(_local, "override", ())):
            if _key(g.backend) == k:
                return g
        streams = getattr(_local, "streams", None)
        if streams is None:
            streams = _local.streams = {}
        g = streams.get(k)
        if g is None:
            g = streams[k] = Generator(getattr(_local, "seed", _Process.seed), b)
        return g

    def __repr__(self) -> str:
        return f"Generator(seed={self.seed}, backend={self.backend.name})"


def generator(b: Backend):
    """The native generator draws on backend ``b`` use now in this thread."""
    return Generator.current(b).native


def as_generator(g, backend, who: str = "generator"):
    """``None``, an :class:`Generator` of ``backend`` (returned as is) or an int seed (a new one)."""
    if g is None or isinstance(g, Generator):
        if g is not None and backend is not None and _key(g.backend) != _key(backend):
            raise ValueError(f"{who}: the generator is on backend {g.backend.name}:{g.backend.device}, the data "
                             f"on {backend.name}:{backend.device}; make it with xn.Generator(seed, backend=...)")
        return g
    if isinstance(g, (int, np.integer)) and not isinstance(g, bool) and g >= 0:
        return Generator(int(g), backend)
    raise TypeError(f"{who}: expected an xn.Generator, an int seed >= 0 or None, got {type(g).__name__} {g!r}")


@contextlib.contextmanager
def use_generator(g):
    """Within the block, draws of this thread on ``g``'s backend come from ``g`` (no-op for None)."""
    if g is None:
        yield None
        return
    stack = getattr(_local, "override", None)
    if stack is None:
        stack = _local.override = []
    stack.append(g)
    try:
        yield g
    finally:
        stack.pop()


def get_state(b: Backend) -> dict:
    """A JSON-able snapshot of this thread's stream on ``b`` (for checkpoints)."""
    return Generator.current(b).get_state()


def set_state(b: Backend, state: dict) -> None:
    Generator.current(b).set_state(state)


def _native_of(gen, b):
    if gen is None:
        return generator(b)
    return gen.native if isinstance(gen, Generator) else gen


def _backend(backend) -> Backend:
    if backend is None:
        from .state import get_backend

        return get_backend()
    return load(backend) if not isinstance(backend, Backend) else backend


def normal(shape, mean=0.0, std=1.0, dtype=None, backend=None, gen=None):
    """Samples of N(mean, std²) with the given shape on ``backend`` (default: active)."""
    b = _backend(backend)
    return b.normal(_native_of(gen, b), tuple(shape), dtype_name(resolve_dtype(b.xp, dtype)), mean, std)


def uniform(shape, low=0.0, high=1.0, dtype=None, backend=None, gen=None):
    """Samples of U[low, high) with the given shape on ``backend`` (from ``gen`` if given)."""
    b = _backend(backend)
    return b.uniform(_native_of(gen, b), tuple(shape), dtype_name(resolve_dtype(b.xp, dtype)), low, high)


def permutation(n: int, backend=None, gen=None):
    """A random permutation of 0..n-1 as an int64 array on ``backend`` (from ``gen`` if given)."""
    b = _backend(backend)
    return b.permutation(_native_of(gen, b), n)


def make_generator(seed: int, backend=None):
    """A private native generator of ``backend`` seeded with ``seed`` (for a seeded DataLoader)."""
    return Generator(seed, backend).native


def dropout_mask(b: Backend, shape, p: float, dtype, gen=None):
    """The inverted-dropout mask m/(1 − p), m ~ Bernoulli(1 − p), of ``shape`` and ``dtype`` on ``b``
    (native fast paths: one draw and one fused compare-scale on NumPy and PyTorch)."""
    return b.dropout_mask(_native_of(gen, b), shape, p, dtype)
