"""The backend table: the one place that maps backend names and namespaces to backend objects.

Each library is one file with a :class:`~xpnet.backend.base.Backend` subclass and one
:func:`register` line below. Everything else asks the objects this module hands out
(:func:`load` by name, :func:`backend_for` by namespace) for what differs between libraries; no
other module compares backend names. Loading is lazy: importing xpnet imports only NumPy.

>>> from xpnet.backend import registry
>>> registry.load("numpy").single_device
True
>>> registry.backend_for(registry.load("array_api_strict").xp).name
'array_api_strict'
"""
from __future__ import annotations

import types

from .base import Backend, BackendUnavailableError
from .cupy_backend import CupyBackend, _cuda_unusable  # noqa: F401 - _cuda_unusable: tests name it here
from .numpy_backend import NumpyBackend
from .strict_backend import StrictBackend
from .torch_backend import TorchBackend

_CLASSES: dict = {}      # backend name -> Backend subclass
_NAMESPACES: dict = {}   # namespace module __name__ -> backend name
_CACHE: dict = {}        # (name, str(device)) -> loaded Backend
_BY_ID: dict = {}        # id(namespace) -> Backend serving it (ops' hot-path cache; holds the namespace)
_BY_ARRAY: dict = {}     # (id(namespace), device) -> Backend of arrays there (devices.backend_of's cache)


def register(name: str, cls: type, namespaces=()) -> None:
    """Make backend class ``cls`` (a :class:`Backend` subclass with ``load(device)``) available as
    ``name`` (``xn.set_backend(name)``, ``"name:device"``), serving the namespace modules whose
    ``__name__`` is in ``namespaces``. Registering a name again replaces it."""
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise TypeError(f"register: cls: expected a subclass of xpnet.backend.Backend, got {cls!r}")
    if not isinstance(name, str) or not name or ":" in name:
        raise ValueError(f"register: name: expected a non-empty string without ':', got {name!r}")
    _CLASSES[name] = cls
    for ns in namespaces:
        _NAMESPACES[ns] = name
    forget(name)


def unregister(name: str) -> None:
    """Remove backend ``name`` and its namespaces from the table (the built-in ones too)."""
    _CLASSES.pop(name, None)
    for ns in [ns for ns, n in _NAMESPACES.items() if n == name]:
        del _NAMESPACES[ns]
    forget(name)


def forget(name: str) -> None:
    """Drop the loaded objects of backend ``name`` (after the library behind it changed, e.g. when
    the CuPy stand-in was installed); the next :func:`load` makes them again."""
    for key in [k for k in _CACHE if k[0] == name]:
        del _CACHE[key]
    _BY_ID.clear()
    _BY_ARRAY.clear()


def register_kernels(name: str, family: str, module: str) -> None:
    """Add the fast kernels of ``family`` (e.g. ``"gelu"``) for backend ``name``: ``module`` is the
    dotted path of a module with that family's functions (see ``fast_numpy``/``fast_cupy``)."""
    cls = _CLASSES[name]
    cls.kernels = {**cls.kernels, family: module}
    forget(name)


register("numpy", NumpyBackend, namespaces=("numpy", "array_api_compat.numpy"))
register("torch", TorchBackend, namespaces=("torch", "array_api_compat.torch"))
register("cupy", CupyBackend, namespaces=("cupy", "array_api_compat.cupy"))
register("array_api_strict", StrictBackend, namespaces=("array_api_strict",))

KNOWN = tuple(_CLASSES)  # the built-in backends


def names() -> tuple:
    """The registered backend names (built-in first)."""
    return tuple(_CLASSES)


def is_registered(name) -> bool:
    return name in _CLASSES


def rng_kinds() -> set:
    """The random-stream state kinds of the registered backends (what a checkpoint may hold)."""
    return {cls.rng_kind for cls in _CLASSES.values()} | {Backend.rng_kind}


def load(name, device=None) -> Backend:
    """The :class:`Backend` for ``name`` (a registered name, ``"name:device"``, a namespace module or
    a Backend moved to ``device``)."""
    if isinstance(name, Backend):
        return name if device is None else load(spec_of(name), device)
    if isinstance(name, types.ModuleType):
        return _from_module(name, device)
    if not isinstance(name, str):
        raise TypeError(f"backend: expected a name in {names()} or an Array API namespace module, got {type(name).__name__}")
    if ":" in name and device is None:
        name, device = name.split(":", 1)
        if name in _CLASSES:
            device = _CLASSES[name].parse_device(device)
    key = (name, str(device))
    b = _CACHE.get(key)
    if b is None:
        cls = _CLASSES.get(name)
        if cls is None:
            raise ValueError(f"backend: expected one of {names()} or an Array API namespace module, got {name!r}")
        b = _CACHE[key] = cls.load(device)
    return b


def spec_of(b: Backend):
    """What :func:`load` takes to make ``b`` again: its name if registered, else its namespace."""
    return b.name if b.name in _CLASSES else b.xp


def _from_module(module, device):
    name = _NAMESPACES.get(module.__name__)
    if name is not None:
        return load(name, device)
    if not hasattr(module, "__array_api_version__"):
        try:
            import array_api_compat

            module = array_api_compat.array_namespace(module.asarray([0.0]))
        except Exception:
            raise ValueError(f"backend: module {module.__name__!r} is not an Array API namespace") from None
    return Backend(module.__name__, module, device, module)


def backend_for(xp) -> Backend:
    """The backend serving namespace ``xp`` (its device-independent facts and math: ``erf``,
    ``scatter_add``, ``single_device``, ``supports_views``, ...). Cached per namespace object."""
    b = _BY_ID.get(id(xp))
    if b is None:
        name = _NAMESPACES.get(getattr(xp, "__name__", None))
        if name is None:
            b = Backend(namespace_name(xp), xp, None, xp)
        else:
            try:
                b = load(name)
            except BackendUnavailableError:  # arrays exist, so the library works; no default device
                b = _CLASSES[name](name, xp, None, None)
            if b.xp is not xp:
                b = b.with_namespace(xp)
        _BY_ID[id(xp)] = b
    return b


def available_backends() -> dict:
    """Each registered backend name mapped to ``"available (device ...)"`` or the reason it is not."""
    out = {}
    for name in names():
        try:
            b = load(name)
            out[name] = f"available (device {b.device})"
        except BackendUnavailableError as e:
            out[name] = str(e)
    return out


def namespace_name(xp) -> str:
    """A short name for namespace ``xp`` (for messages): the module name without ``array_api_compat.``."""
    n = getattr(xp, "__name__", str(xp))
    return n.removeprefix("array_api_compat.")


def list_devices(name: str) -> list:
    """The devices a backend offers (as strings), or [] when it is unavailable."""
    try:
        b = load(name)
    except BackendUnavailableError:
        return []
    return b.devices()


__all__ = ["Backend", "BackendUnavailableError", "KNOWN", "available_backends", "backend_for", "forget",
           "is_registered", "list_devices", "load", "names", "namespace_name", "register", "register_kernels",
           "rng_kinds", "spec_of", "unregister"]
