"""Random numbers, one generator per backend and device, seeded together by :func:`manual_seed`.

The Array API has no random module. NumPy, PyTorch and CuPy have native generators; any other
namespace (``array_api_strict``, user namespaces) draws on the host with NumPy and moves the result.
Every caller (initialisers, dropout, shuffling) asks here, so one seed repeats a whole run.
"""
from __future__ import annotations

import numpy as np

from .devices import asarray
from .dtypes import dtype_name, resolve_dtype
from .registry import Backend, load

_seed = [None]
_generators: dict = {}


def manual_seed(seed: int) -> None:
    """Seed every backend's generator (created lazily from this seed)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _seed[0] = int(seed)
    _generators.clear()


def _key(b: Backend):
    return (b.name, str(b.device)) if b.name != "numpy" else "numpy"


def generator(b: Backend):
    """The native generator of backend ``b`` (NumPy ``Generator`` for host-drawn namespaces)."""
    g = _generators.get(_key(b))
    if g is None:
        seed = _seed[0]
        if b.name == "torch":
            g = b.native.Generator(device=b.device)
            g.manual_seed(seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63))
        elif b.name == "cupy":
            with b.device:
                g = b.native.random.default_rng(seed)
        else:
            g = np.random.default_rng(seed)
        _generators[_key(b)] = g
    return g


def get_state(b: Backend) -> dict:
    """A JSON-able snapshot of ``b``'s generator (for checkpoints)."""
    g = generator(b)
    if b.name == "torch":
        return {"kind": "torch", "state": g.get_state().tolist()}
    if b.name == "cupy":
        return {"kind": "cupy", "seed": _seed[0]}  # CuPy's bit generator has no portable state
    return {"kind": "numpy", "state": _jsonable(g.bit_generator.state)}


def set_state(b: Backend, state: dict) -> None:
    g = generator(b)
    if state.get("kind") == "torch" and b.name == "torch":
        g.set_state(b.native.tensor(state["state"], dtype=b.native.uint8))
    elif state.get("kind") == "numpy" and b.name not in ("torch", "cupy"):
        g.bit_generator.state = state["state"]


def _jsonable(d):
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, np.integer):
        return int(d)
    return d


def _backend(backend) -> Backend:
    if backend is None:
        from .state import get_backend

        return get_backend()
    return load(backend) if not isinstance(backend, Backend) else backend


def normal(shape, mean=0.0, std=1.0, dtype=None, backend=None):
    """Samples of N(mean, std²) with the given shape on ``backend`` (default: active)."""
    b = _backend(backend)
    shape = tuple(shape)
    g = generator(b)
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
    g = generator(b) if gen is None else gen
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
    g = generator(b) if gen is None else gen
    if b.name == "torch":
        return b.native.randperm(n, generator=g, device=b.device)
    if b.name == "cupy":
        with b.device:
            return b.native.argsort(g.random(n))
    return asarray(g.permutation(n).astype(np.int64), backend=b)


def make_generator(seed: int, backend=None):
    """A private generator of ``backend`` seeded with ``seed`` (for a seeded DataLoader)."""
    b = _backend(backend)
    saved = _generators.pop(_key(b), None)
    prev_seed = _seed[0]
    _seed[0] = int(seed)
    try:
        return generator(b)
    finally:
        _seed[0] = prev_seed
        _generators.pop(_key(b), None)
        if saved is not None:
            _generators[_key(b)] = saved


def dropout_mask(b: Backend, shape, p: float, dtype):
    """The inverted-dropout mask m/(1 − p), m ~ Bernoulli(1 − p), of ``shape`` and ``dtype`` on ``b``
    (native fast paths: one draw and one fused compare-scale on NumPy and PyTorch)."""
    scale = 1.0 / (1.0 - p)
    g = _generators.get(_key(b)) or generator(b)
    if b.name == "numpy":
        u = g.random(shape, dtype=dtype)
        return b.native.multiply(u >= p, dtype.type(scale), dtype=dtype)
    if b.name == "torch":
        u = b.native.rand(shape, generator=g, device=b.device, dtype=dtype)
        return (u >= p).to(dtype) * scale
    u = uniform(shape, dtype=dtype, backend=b)
    return b.xp.astype(u >= p, dtype) * scale
