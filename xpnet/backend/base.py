"""The backend protocol: everything xpnet needs from an array library that the Array API lacks.

A :class:`Backend` is one array library on one device. This base class *is* the generic backend:
each method is written in pure Array-API code (random numbers drawn on the host with NumPy and
moved), so any namespace that follows the standard runs xpnet unchanged. A library gets its own
file (``numpy_backend.py``, ``torch_backend.py``, ``cupy_backend.py``, ``strict_backend.py``) with a
subclass that overrides only what it does differently or faster, and one ``register(...)`` line in
:mod:`xpnet.backend.registry` (see ``docs/backend.md``). Nothing outside the registry compares
backend names: code asks the backend object (``registry.backend_for(xp)`` or ``backend_of(x)``).

The protocol, by group (each method documents its contract):

- facts (class attributes): ``single_device``, ``supports_views``, ``host_native``, ``folds_bias``, ``rng_kind``,
  ``exports_dlpack``, ``dlpack_cuda``, ``gpu_alternative``, ``kernels``;
- loading: ``load(device)`` (classmethod), ``parse_device``, ``devices()``, ``device_arg(dev)``;
- data: ``from_host``, ``to_numpy``, ``move_same``, ``import_foreign``, ``synchronize``, ``on_host``;
- random streams: ``new_generator``, ``rng_state``, ``restore_rng``, ``normal``, ``uniform``,
  ``permutation``, ``dropout_mask``;
- math the standard lacks: ``affine``, ``erf``, ``scatter_add``, ``one_hot``, ``pick``, ``label_range``;
- optional fast kernels: ``fast_kernels(family)`` from the ``kernels`` table (honours
  ``xn.config_context(fast=False)`` through :mod:`xpnet.backend.ops`).

Layers never call these methods directly: they go through :mod:`xpnet.backend.ops` (the math) and
:mod:`xpnet.backend.devices` / :mod:`xpnet.backend.random` (data and random numbers).
"""
from __future__ import annotations

import copy
import importlib

import numpy as np

from .special import erf_array_api


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot be used here (not installed, or no GPU)."""


def _jsonable(d):
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, np.integer):
        return int(d)
    return d


def _host_to(b, host):
    """Host NumPy data as an array of backend ``b`` (``xn.asarray`` rules: host floats become the
    default float dtype)."""
    from .devices import asarray

    return asarray(host, backend=b)


def scale_shift(out, scale: float, shift: float):
    """``out·scale + shift`` in place, skipping the identity: turns draws of N(0, 1) or U[0, 1) into
    N(shift, scale²) or U[shift, shift + scale)."""
    if scale != 1.0:
        out *= scale
    if shift != 0.0:
        out += shift
    return out


class Backend:
    """One array library on one device (generic: any Array API namespace).

    ``name``: the registered name (or the namespace module's name); ``xp``: the Array API namespace
    xpnet calls; ``device``: the library's own device object; ``native``: the library module itself
    (for native fast paths; the namespace for generic backends).
    """

    #: every array of the library lives on one device, so device checks can be skipped (NumPy)
    single_device = False
    #: basic slices and reshapes of a contiguous array are views sharing its memory (not guaranteed
    #: by the Array API standard, hence False unless the library promises it)
    supports_views = False
    #: the arrays are the host's own (NumPy): reading a value costs no device synchronisation, and
    #: data handed over as such arrays is host input that xpnet moves to the active backend
    host_native = False
    #: :meth:`affine` is one library call with the bias inside the matrix product (PyTorch's addmm)
    folds_bias = False
    #: the format of :meth:`rng_state` (checkpoints only restore a stream of the same kind)
    rng_kind = "numpy"
    #: arrays can leave through DLPack (to NumPy or PyTorch on the same device)
    exports_dlpack = True
    #: DLPack exchange between CUDA devices works (CuPy ↔ PyTorch)
    dlpack_cuda = False
    #: the backend name that ``to_device(x, "cuda")`` means while this (host-only) one is active
    gpu_alternative = None
    #: optional fast kernels: family (``"gelu"``, ``"batchnorm"``) → module path (lazily imported)
    kernels: dict = {}

    def __init__(self, name: str, xp, device=None, native=None):
        self.name = name
        self.xp = xp
        self.device = device
        self.native = xp if native is None else native
        self._kernel_modules: dict = {}
        self._classes: dict = {}

    # ------------------------------------------------------------------ identity
    def __eq__(self, other):
        return (type(other) is type(self) and other.name == self.name and other.xp is self.xp
                and other.device == self.device)

    def __hash__(self):
        return hash((type(self), self.name, id(self.xp), str(self.device)))

    def __repr__(self) -> str:
        return f"Backend(name={self.name!r}, device={self.device!r})"

    def __str__(self) -> str:
        return f"{self.name}:{self.device}"

    @property
    def is_gpu(self) -> bool:
        return "cuda" in str(self.device)

    def with_namespace(self, xp) -> "Backend":
        """This backend serving another namespace object of the same library (e.g. the CuPy stand-in)."""
        b = copy.copy(self)
        b.xp, b._kernel_modules, b._classes = xp, {}, {}
        return b

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, device=None) -> "Backend":
        """The backend on ``device`` (None: the library's default), or :class:`BackendUnavailableError`
        saying why not. Subclasses import their library here, never at module import."""
        raise NotImplementedError(f"{cls.__name__}.load: a registered backend must define load(device)")

    @classmethod
    def parse_device(cls, text: str):
        """The device part of ``"name:device"`` as ``load`` takes it."""
        return text

    def devices(self) -> list:
        """The devices the library offers here, as strings."""
        return [str(self.device)]

    def device_arg(self, dev):
        """The ``device`` argument of :meth:`load` that gives arrays on ``dev`` (an array's device)."""
        return dev

    # ------------------------------------------------------------------ data
    def from_host(self, host):
        """A NumPy array (already of the wanted dtype) as an array on this backend's device."""
        return self.xp.asarray(host, device=self.device)

    def to_numpy(self, x) -> np.ndarray:
        """A host NumPy array of ``x`` (an array of this library)."""
        try:
            return np.from_dlpack(x)
        except Exception:
            return np.asarray(x)

    def move_same(self, x, same_device: bool):
        """``x``, an array of this library, on this backend's device (``same_device``: already there)."""
        return x if same_device else x.to_device(self.device)

    def import_foreign(self, x, src: "Backend"):
        """``x`` (an array of backend ``src``, another library) imported without a host copy, or None
        when this pair has no direct route (the caller then goes through the host)."""
        return None

    def synchronize(self) -> None:
        """Wait until queued work on the device has finished (no-op where work is synchronous)."""

    def on_host(self, x) -> bool:
        """True when reading a value of ``x`` costs no device synchronisation."""
        return True

    # ------------------------------------------------------------------ random streams
    def new_generator(self, seed):
        """A native random generator seeded with ``seed`` (None: fresh entropy). Generic: NumPy's,
        drawing on the host (results are moved)."""
        return np.random.default_rng(seed)

    def rng_state(self, g, seed) -> dict:
        """A JSON-able state of generator ``g`` (made with ``seed``), ``{"kind": rng_kind, ...}``."""
        return {"kind": "numpy", "state": _jsonable(g.bit_generator.state)}

    def restore_rng(self, g, state: dict):
        """The generator continuing from ``state`` (``g`` updated in place, or a new one)."""
        g.bit_generator.state = state["state"]
        return g

    def normal(self, g, shape: tuple, dtype: str, mean: float, std: float):
        """Samples of N(mean, std²), ``dtype`` a float dtype name."""
        return _host_to(self, g.standard_normal(shape, dtype=np.float64).astype(dtype) * std + mean)

    def uniform(self, g, shape: tuple, dtype: str, low: float, high: float):
        """Samples of U[low, high)."""
        out = _host_to(self, g.random(shape, dtype=np.float64 if dtype == "float64" else np.float32))
        return scale_shift(out, high - low, low)

    def permutation(self, g, n: int):
        """A random permutation of 0..n−1 as int64."""
        return _host_to(self, g.permutation(n).astype(np.int64))

    def dropout_mask(self, g, shape: tuple, p: float, dtype):
        """The inverted-dropout mask m/(1 − p), m ~ Bernoulli(1 − p) (``dtype``: a dtype of ``xp``)."""
        from .dtypes import dtype_name

        u = self.uniform(g, shape, dtype_name(dtype), 0.0, 1.0)
        return self.xp.astype(u >= p, dtype) * (1.0 / (1.0 - p))

    # ------------------------------------------------------------------ math the standard lacks
    def affine(self, x, w, b):
        """y = x Wᵀ + b (W: out × in, x: (…, in), b: (out,) or None). Generic: the matrix product,
        then the bias added in place (two operations; a backend with ``folds_bias`` makes it one)."""
        y = x @ (w.T if w.ndim == 2 and x.ndim == 2 else self.xp.matrix_transpose(w))
        if b is not None:
            y += b
        return y

    def erf(self, x):
        """erf(x) = 2/√π ∫₀ˣ e^(−t²) dt elementwise, keeping ``x``'s dtype (generic:
        :func:`xpnet.backend.special.erf_array_api`)."""
        return erf_array_api(self.xp, x)

    def scatter_add(self, n_rows: int, index, values):
        """``out[index[i]] += values[i]`` into a zero array of ``n_rows`` rows; repeated indices add
        up. Generic: a one-hot matrix product (never ``out[idx] += v``, which drops repeats)."""
        xp = self.xp
        shape = (n_rows,) + tuple(values.shape[1:])
        oh = self.one_hot(index, n_rows, values.dtype)
        flat = xp.reshape(values, (values.shape[0], -1))
        return xp.reshape(xp.matmul(xp.matrix_transpose(oh), flat), shape)

    def one_hot(self, labels, num_classes: int, dtype):
        """``out[i, c] = 1 if labels[i] == c``, shape ``labels.shape + (num_classes,)``; the row
        0..C−1 it compares against is made once per device, dtype and C."""
        xp = self.xp
        device = getattr(labels, "device", None)
        key = (str(device), str(labels.dtype), num_classes)
        classes = self._classes.get(key)
        if classes is None:
            if len(self._classes) > 256:
                self._classes.clear()
            classes = self._classes[key] = xp.arange(num_classes, dtype=labels.dtype, device=device)
        return xp.astype(xp.expand_dims(labels, axis=-1) == classes, dtype)

    def pick(self, a, index):
        """``out[i] = a[i, index[i]]`` for a 2-D ``a`` and integer ``index`` (N,). Generic:
        ``take_along_axis`` (Array API 2024.12)."""
        xp = self.xp
        return xp.take_along_axis(a, xp.expand_dims(index, axis=1), axis=1)[:, 0]

    def _pick_by_indexing(self, a, index):
        """:meth:`pick` by advanced indexing (NumPy, CuPy, PyTorch)."""
        rows = self.xp.arange(a.shape[0], device=getattr(a, "device", None))
        return a[rows, index]

    def label_range(self, labels):
        """(min, max) of an integer label array as Python ints (one host read each)."""
        xp = self.xp
        return int(xp.min(labels)), int(xp.max(labels))

    # ------------------------------------------------------------------ optional fast kernels
    def fast_kernels(self, family: str):
        """The module of fast kernels of ``family`` for this library (``kernels`` table), or None.
        Does not look at the ``fast`` option: :mod:`xpnet.backend.ops` does."""
        mod = self._kernel_modules.get(family, 0)
        if mod == 0:
            path = self.kernels.get(family)
            mod = self._kernel_modules[family] = importlib.import_module(path) if path else None
        return mod


__all__ = ["Backend", "BackendUnavailableError"]
