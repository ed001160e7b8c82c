"""Moving arrays between backends and devices, and identifying where an array lives."""
from __future__ import annotations

import array_api_compat
import numpy as np

from .numpy_ns import _compat as _COMPAT_NUMPY
from .numpy_ns import namespace as _NUMPY_NS
from .dtypes import dtype_name, get_default_dtype, resolve_dtype
from .base import Backend
from .registry import _BY_ARRAY, backend_for, is_registered, load, namespace_name, spec_of
from .state import get_backend


class BackendMismatchError(ValueError):
    """Two arrays from different backends or devices met in one operation."""



class ArrayHolder:
    """The base of :class:`xpnet.Tensor` (defined here, below the engine, so that the backend can
    tell a Tensor from an array without importing the engine): an object whose ``.data`` is one
    backend array."""

    __slots__ = ()


def namespace_of(x):
    """The Array API namespace of array ``x`` (``array_api_compat`` wrapper where needed; for NumPy
    arrays xpnet's own, with faster reductions: :mod:`xpnet.backend.numpy_ns`)."""
    if type(x) is np.ndarray:
        return _NUMPY_NS
    try:
        xp = array_api_compat.array_namespace(x)
        return _NUMPY_NS if xp is _COMPAT_NUMPY else xp
    except TypeError:
        raise TypeError(f"expected an array of a supported backend, got {type(x).__module__}.{type(x).__name__}") from None


def device_of(x):
    return array_api_compat.device(x)


def backend_of(x, xp=None) -> Backend:
    """The :class:`Backend` an array belongs to (``xp``: its namespace, if already known).
    Cached per (namespace, device): cheap enough for every training step."""
    if xp is None:
        xp = namespace_of(x)
    dev = getattr(x, "device", "cpu")
    key = (id(xp), dev if dev.__hash__ is not None else str(dev))
    b = _BY_ARRAY.get(key)
    if b is None:
        lib = backend_for(xp)
        b = _BY_ARRAY[key] = load(spec_of(lib), lib.device_arg(device_of(x)))
    return b


def describe(x) -> str:
    """``"numpy:cpu float32 (32, 10)"``-style description of an array for error messages."""
    xp = namespace_of(x)
    return f"{namespace_name(xp)}:{device_of(x)} {x.dtype} {tuple(x.shape)}"


def mismatch(op, a, b) -> BackendMismatchError:
    na, nb = namespace_name(namespace_of(a)), namespace_name(namespace_of(b))
    what = f"the backends differ ({na} vs {nb})" if na != nb else \
        f"the devices differ ({device_of(a)} vs {device_of(b)})"
    return BackendMismatchError(
        f"{op}: cannot mix an array of {describe(a)} with an array of {describe(b)}: {what}; "
        f"move one with xn.to_device(x, {nb!r}) (or a model with model.to(...)) first"
    )


def is_array(x) -> bool:
    return array_api_compat.is_array_api_obj(x) and not isinstance(x, (int, float, bool))


def _resolve(target) -> Backend:
    """A target given as a Backend, backend name, ``"name:device"``, namespace or bare device."""
    if isinstance(target, Backend):
        return target
    if isinstance(target, str) and not is_registered(target.split(":")[0]):
        cur = get_backend()
        if target in ("cuda", "gpu") and cur.gpu_alternative is not None:
            return load(cur.gpu_alternative)
        return load(spec_of(cur), target)
    return load(target)


def asarray(data, dtype=None, backend=None):
    """``data`` (lists, scalars, NumPy or any backend's array, a Tensor) as an array of the active
    backend (or ``backend``) on its device. Host floating data (lists, NumPy) becomes the default
    float dtype (float32) unless ``dtype`` says otherwise, so float64 files never slip into a float32
    run; arrays of other backends keep their dtype unless ``dtype`` is given."""
    b = get_backend() if backend is None else _resolve(backend)
    if isinstance(data, ArrayHolder):  # a Tensor
        data = data.data
    xp = b.xp
    if is_array(data) and not isinstance(data, np.ndarray):
        out = to_device(data, b)
        return out if dtype is None else xp.astype(out, resolve_dtype(xp, dtype))
    host = np.asarray(data)
    if dtype is None and host.dtype.kind == "f":
        dtype = get_default_dtype()
    if host.dtype.kind == "O":
        raise TypeError(f"asarray: expected numeric data, got an object array from {type(data).__name__}")
    if dtype is not None:
        host = host.astype(dtype_name(dtype), copy=False)
    return b.from_host(host)


def to_numpy(x) -> np.ndarray:
    """A host NumPy array of ``x`` (array of any backend, or Tensor); no copy when already NumPy."""
    if isinstance(x, ArrayHolder):
        x = x.data
    if isinstance(x, np.ndarray):
        return x
    if not is_array(x):
        return np.asarray(x)
    return backend_for(namespace_of(x)).to_numpy(x)


def to_device(obj, target):
    """Move ``obj`` to ``target`` (a backend name, ``"name:device"``, a device string or a Backend).

    Arrays and Tensors move (DLPack when both sides share the device, else through the host);
    objects with a ``.to(target)`` method (Modules, optimisers, datasets) move themselves;
    lists, tuples and dicts move element-wise.
    """
    b = _resolve(target)
    if isinstance(obj, ArrayHolder):  # Tensor
        return obj.to(b)
    if is_array(obj):
        return _move_array(obj, b)
    if hasattr(obj, "to") and callable(obj.to):
        return obj.to(b)
    if isinstance(obj, dict):
        return {k: to_device(v, b) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, b) for v in obj)
    return obj


def _move_array(x, b: Backend):
    src = backend_for(namespace_of(x))
    if src.name == b.name or src.xp is b.xp:  # the same library: the target backend moves it between its devices
        return b.move_same(x, str(device_of(x)) == str(b.device))
    try:
        out = b.import_foreign(x, src)  # DLPack where the pair shares memory
    except Exception:
        out = None
    return out if out is not None else asarray(to_numpy(x), backend=b)


def synchronize(backend=None) -> None:
    """Wait until the device of ``backend`` (default: active) has finished queued work; no-op on CPU."""
    b = get_backend() if backend is None else _resolve(backend)
    b.synchronize()


def on_host(x) -> bool:
    """True when ``x`` lives in host memory, where reading a value costs no device synchronisation."""
    return backend_for(namespace_of(x)).on_host(x)


def on_host_check(x, name: str, num_classes=None) -> None:
    """Validate data once, where it is loaded: NaN/inf in floats; labels in 0..num_classes−1 and ≥ 0.
    One host read per call (not for training steps)."""
    xp = namespace_of(x)
    if xp.isdtype(x.dtype, "real floating"):
        bad = int(xp.sum(xp.astype(~xp.isfinite(x), xp.int64)))
        if bad:
            raise ValueError(f"{name}: contains {bad} NaN or infinite values ({describe(x)}); clean or impute them first")
    elif xp.isdtype(x.dtype, "integral") and x.shape[0] > 0:
        lo, hi = int(xp.min(x)), int(xp.max(x))
        if lo < 0 or (num_classes is not None and hi >= num_classes):
            expected = f"0..{num_classes - 1}" if num_classes is not None else "non-negative class indices"
            raise ValueError(f"{name}: expected labels in {expected}, got values in {lo}..{hi}")


def check_numeric(data, name: str):
    """``data`` as an array (host data via NumPy), refusing ragged, text, complex and object data
    with an error naming the argument (before NumPy's own message would)."""
    if isinstance(data, ArrayHolder):
        data = data.data
    if isinstance(data, (str, bytes, dict, set)) or data is None:
        raise TypeError(f"{name}: expected a numeric array, got {type(data).__name__}")
    if not is_array(data):
        try:
            data = np.asarray(data)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{name}: expected a rectangular numeric array, got ragged or mixed data "
                             f"({type(data).__name__}: {e})") from None
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected real numbers, got NumPy dtype {data.dtype} from {type(data).__name__}")
        return data
    kind = getattr(data.dtype, "kind", None)
    if kind is not None and kind not in "biuf" or "complex" in str(data.dtype):
        raise TypeError(f"{name}: expected real numbers, got dtype {data.dtype}")
    return data
