"""Backend descriptions: which array library, which namespace, which device.

A :class:`Backend` names one array library, the Array API namespace xpnet calls (the
``array_api_compat`` wrapper where the library needs one) and the device arrays live on.
Loading is lazy: importing xpnet imports only NumPy.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, field

KNOWN = ("numpy", "torch", "cupy", "array_api_strict")


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot be used here (not installed, or no GPU)."""


@dataclass(frozen=True)
class Backend:
    """One array library on one device.

    ``name``: ``"numpy"``, ``"torch"``, ``"cupy"``, ``"array_api_strict"`` or the module name of a
    user-supplied namespace; ``xp``: the Array API namespace; ``device``: the library's own device
    object (``"cpu"`` for NumPy); ``native``: the library module itself (for fast paths).
    """

    name: str
    xp: types.ModuleType = field(repr=False)
    device: object = None
    native: types.ModuleType | None = field(default=None, repr=False)

    @property
    def is_gpu(self) -> bool:
        return self.name == "cupy" or "cuda" in str(self.device)

    def __str__(self) -> str:
        return f"{self.name}:{self.device}"


def _load_numpy(device):
    import numpy

    from .numpy_ns import namespace as xp

    if device not in (None, "cpu"):
        raise BackendUnavailableError(f"backend 'numpy' runs on device 'cpu' only, got device={device!r}")
    return Backend("numpy", xp, "cpu", numpy)


def _load_torch(device):
    try:
        import torch
        import array_api_compat.torch as xp
    except ImportError as e:
        raise BackendUnavailableError(f"backend 'torch' is not installed ({e}); pip install torch") from None
    dev = torch.device(device if device is not None else "cpu")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError("backend 'torch' with device 'cuda': torch sees no CUDA GPU")
    return Backend("torch", xp, dev, torch)


def _load_cupy(device):
    try:
        import cupy
        import array_api_compat.cupy as xp
    except ImportError as e:
        raise BackendUnavailableError(
            f"backend 'cupy' is not installed ({e}); pip install 'xpnet[cupy]' on a machine with an NVIDIA GPU"
        ) from None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken
        raise BackendUnavailableError(_cuda_unusable(cupy, e)) from None
    if n == 0:
        raise BackendUnavailableError(f"backend 'cupy': CuPy {cupy.__version__} is installed but no CUDA GPU is visible")
    index = 0 if device is None else int(str(device).rsplit(":", 1)[-1])
    return Backend("cupy", xp, cupy.cuda.Device(index), cupy)


def _cuda_unusable(cupy, error) -> str:
    """One line saying why an installed CuPy cannot run: no driver (no GPU here), a driver older than
    CuPy's CUDA runtime, or the CUDA error itself."""
    def version(fn):
        try:
            v = int(fn())
        except Exception:
            return None
        return v

    drv = version(cupy.cuda.runtime.driverGetVersion)
    rt = version(cupy.cuda.runtime.runtimeGetVersion)
    cuda = lambda v: f"{v // 1000}.{v % 1000 // 10}"
    head = f"backend 'cupy': CuPy {getattr(cupy, '__version__', '?')} is installed"
    if not drv:
        return f"{head} but no NVIDIA driver was found: no usable GPU on this machine ({type(error).__name__})"
    if rt and drv < rt:
        return f"{head} (CUDA runtime {cuda(rt)}) but the NVIDIA driver supports CUDA {cuda(drv)} only: update the driver"
    return f"{head} but CUDA is not usable: {error}"


def _load_strict(device):
    try:
        import array_api_strict as xp
    except ImportError as e:
        raise BackendUnavailableError(f"backend 'array_api_strict' is not installed ({e}); pip install array-api-strict") from None
    dev = xp.Device(device) if isinstance(device, str) else (device or xp.Device("CPU_DEVICE"))
    return Backend("array_api_strict", xp, dev, xp)


_LOADERS = {"numpy": _load_numpy, "torch": _load_torch, "cupy": _load_cupy, "array_api_strict": _load_strict}
_CACHE: dict = {}


def load(name, device=None) -> Backend:
    """The :class:`Backend` for ``name`` (a known name, ``"name:device"``, or a namespace module)."""
    if isinstance(name, Backend):
        return name if device is None else load(name.name if name.name in KNOWN else name.xp, device)
    if isinstance(name, types.ModuleType):
        return _from_module(name, device)
    if not isinstance(name, str):
        raise TypeError(f"backend: expected a name in {KNOWN} or an Array API namespace module, got {type(name).__name__}")
    if ":" in name and device is None:
        name, device = name.split(":", 1)
        if name == "torch" and device.isdigit():
            device = f"cuda:{device}"
    key = (name, str(device))
    if key not in _CACHE:
        if name not in _LOADERS:
            raise ValueError(f"backend: expected one of {KNOWN} or an Array API namespace module, got {name!r}")
        _CACHE[key] = _LOADERS[name](device)
    return _CACHE[key]


def _from_module(module, device):
    for known in KNOWN:
        if module.__name__ in (known, f"array_api_compat.{known}"):
            return load(known, device)
    if not hasattr(module, "__array_api_version__"):
        try:
            import array_api_compat

            module = array_api_compat.array_namespace(module.asarray([0.0]))
        except Exception:
            raise ValueError(f"backend: module {module.__name__!r} is not an Array API namespace") from None
    return Backend(module.__name__, module, device, module)


def available_backends() -> dict:
    """Each known backend name mapped to ``"available"`` or the reason it is not."""
    out = {}
    for name in KNOWN:
        try:
            b = load(name)
            out[name] = f"available (device {b.device})"
        except BackendUnavailableError as e:
            out[name] = str(e)
    return out


def namespace_name(xp) -> str:
    """A short backend name for namespace ``xp`` (used in error messages)."""
    n = getattr(xp, "__name__", str(xp))
    return n.removeprefix("array_api_compat.")



def list_devices(name: str) -> list:
    """The devices a backend offers (as strings), or [] when it is unavailable."""
    try:
        b = load(name)
    except BackendUnavailableError:
        return []
    if name == "numpy":
        return ["cpu"]
    if name == "torch":
        t = b.native
        n = t.cuda.device_count() if t.cuda.is_available() else 0
        return ["cpu"] + [f"cuda:{i} ({t.cuda.get_device_name(i)})" for i in range(n)]
    if name == "cupy":
        c = b.native
        return [f"cuda:{i} ({c.cuda.runtime.getDeviceProperties(i)['name'].decode()})"
                for i in range(c.cuda.runtime.getDeviceCount())]
    if name == "array_api_strict":
        return [str(d) for d in b.xp.__array_namespace_info__().devices()]
    return [str(b.device)]
