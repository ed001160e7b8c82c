"""Random numbers: per thread, one stream per backend and device, seeded by :func:`manual_seed`
called in that thread (or the main thread's seed); explicit :class:`Generator` objects for
``generator=`` arguments.

The Array API has no random module. NumPy, PyTorch and CuPy have native generators; any other
namespace (``array_api_strict``, user namespaces) draws on the host with NumPy and moves the result.
Every caller (initialisers, dropout, shuffling) asks here, so one seed repeats a whole run.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .devices import asarray
from .dtypes import dtype_name, resolve_dtype
from .registry import Backend, load

_default_seed: list = [None]  # the process default, set by manual_seed in the main thread
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
        _default_seed[0] = int(seed)
    _local.seed = int(seed)
    _local.streams = {}


def _key(b: Backend):
    return (b.name, str(b.device)) if b.name != "numpy" else "numpy"


def _new_native(b: Backend, seed):
    if b.name == "torch":
        g = b.native.Generator(device=b.device)
        g.manual_seed(seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63))
        return g
    if b.name == "cupy":
        with b.device:
            return b.native.random.default_rng(seed)
    return np.random.default_rng(seed)


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
        self.native = _new_native(self.backend, self.seed)

    def manual_seed(self, seed: int) -> "Generator":
        self.__init__(seed, self.backend)
        return self

    def get_state(self) -> dict:
        b, g = self.backend, self.native
        if b.name == "torch":
            return {"kind": "torch", "state": g.get_state().tolist()}
        if b.name == "cupy":
            return {"kind": "cupy", "seed": self.seed}  # CuPy's bit generator has no portable state
        return {"kind": "numpy", "state": _jsonable(g.bit_generator.state)}

    def set_state(self, state: dict) -> None:
        b = self.backend
        kind = state.get("kind") if isinstance(state, dict) else None
        expected = b.name if b.name in ("torch", "cupy") else "numpy"
        if kind != expected:
            raise ValueError(f"Generator.set_state: expected a {expected!r} generator state, got {kind!r}")
        if kind == "torch":
            self.native.set_state(b.native.tensor(state["state"], dtype=b.native.uint8))
        elif kind == "numpy":
            self.native.bit_generator.state = state["state"]
        else:
            self.native = _new_native(b, state.get("seed"))

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
            g = streams[k] = Generator(getattr(_local, "seed", _default_seed[0]), b)
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


def _jsonable(d):
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, np.integer):
        return int(d)
    return d


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
    shape = tuple(shape)
    g = _native_of(gen, b)
    name = dtype_name(resolve_dtype(b.xp, dtype))
    if b.name == "torch":
        t = b.native
        out = t.randn(shape, generator=g, device=b.device, dtype=getattr(t, name))
    elif b.name == "cupy":
        with b.device:
            out = g.standard_normal(shape, dtype=name)
    else:
        return asarray(g.standard_normal(shape, dtype=np.float64).astype(name) * std + mean, backend=b)
    if std != 1.0:
        out *= std
    if mean != 0.0:
        out += mean
    return out


def uniform(shape, low=0.0, high=1.0, dtype=None, backend=None, gen=None):
    """Samples of U[low, high) with the given shape on ``backend`` (from ``gen`` if given)."""
    b = _backend(backend)
    shape = tuple(shape)
    g = _native_of(gen, b)
    name = dtype_name(resolve_dtype(b.xp, dtype))
    if b.name == "torch":
        t = b.native
        out = t.rand(shape, generator=g, device=b.device, dtype=getattr(t, name))
    elif b.name == "cupy":
        with b.device:
            out = g.random(shape, dtype=name)
    else:
        out = asarray(g.random(shape, dtype=np.float64 if name == "float64" else np.float32), backend=b)
    if (low, high) != (0.0, 1.0):
        out = out * (high - low) + low
    return out


def permutation(n: int, backend=None, gen=None):
    """A random permutation of 0..n-1 as an int64 array on ``backend`` (from ``gen`` if given)."""
    b = _backend(backend)
    g = _native_of(gen, b)
    if b.name == "torch":
        return b.native.randperm(n, generator=g, device=b.device)
    if b.name == "cupy":
        with b.device:
            return b.native.argsort(g.random(n))
    return asarray(g.permutation(n).astype(np.int64), backend=b)


def make_generator(seed: int, backend=None):
    """A private native generator of ``backend`` seeded with ``seed`` (for a seeded DataLoader)."""
    return Generator(seed, backend).native


def dropout_mask(b: Backend, shape, p: float, dtype, gen=None):
    """The inverted-dropout mask m/(1 − p), m ~ Bernoulli(1 − p), of ``shape`` and ``dtype`` on ``b``
    (native fast paths: one draw and one fused compare-scale on NumPy and PyTorch)."""
    scale = 1.0 / (1.0 - p)
    g = _native_of(gen, b)
    if b.name == "numpy":
        u = g.random(shape, dtype=dtype)
        return b.native.multiply(u >= p, dtype.type(scale), dtype=dtype)
    if b.name == "torch":
        u = b.native.rand(shape, generator=g, device=b.device, dtype=dtype)
        return (u >= p).to(dtype) * scale
    u = uniform(shape, dtype=dtype, backend=b, gen=g)
    return b.xp.astype(u >= p, dtype) * scale
