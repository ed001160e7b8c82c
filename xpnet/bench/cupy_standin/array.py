# purity: host -- a strict host-memory stand-in for CuPy (counts device ops and host reads); not engine code
"""``cupy.ndarray`` of the stand-in: a NumPy array in host memory behind CuPy's rules.

Strict where CuPy is strict: not a ``numpy.ndarray``; ``numpy.asarray(x)`` / ``__array__`` raise
(CuPy: "Implicit conversion to a NumPy array is not allowed"); mixing with a ``numpy.ndarray`` in an
operation raises; ``get()``, ``item()``, ``tolist()``, ``float()``, ``int()``, ``bool()`` are
device→host reads and are counted; integer-array indices out of bounds wrap around (CuPy's
documented difference from NumPy) instead of raising. Every result that allocates counts as one
device operation; views (slices, reshapes of contiguous data, transposes) count nothing.
"""
from __future__ import annotations

import operator
import weakref

import threading

import numpy as np

from .counters import COUNTERS



class _CurrentDevice(threading.local):
    """CuPy's current device: per thread, 0 until a ``Device`` is entered or used."""

    id = 0


_CURRENT = _CurrentDevice()


class Device:
    """``cupy.cuda.Device``: compared by id, a context manager that makes it current."""

    __slots__ = ("id", "_prev")

    def __init__(self, device=None):
        if device is None:
            self.id = _CURRENT.id
        else:
            self.id = int(device)
        if not 0 <= self.id < N_DEVICES:
            raise RuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {self.id}")
        self._prev = []

    def __int__(self):
        return self.id

    __index__ = __int__

    def __enter__(self):
        self._prev.append(_CURRENT.id)
        _CURRENT.id = self.id
        return self

    def __exit__(self, *exc):
        _CURRENT.id = self._prev.pop()

    def use(self):
        _CURRENT.id = self.id

    def synchronize(self):
        COUNTERS.op("device_synchronize", 0)

    @property
    def compute_capability(self):
        return "80"

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(("cuda", self.id))

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


N_DEVICES = 1


class MemoryPool:
    """``cupy.get_default_memory_pool()``: bytes held by live device buffers (views hold their base)."""

    def __init__(self):
        self._used = 0
        self._peak = 0

    def _alloc(self, a: np.ndarray):
        n = a.nbytes
        self._used += n
        self._peak = max(self._peak, self._used)
        weakref.finalize(a, self._free, n)

    def _free(self, n):
        self._used -= n

    def used_bytes(self):
        return self._used

    def total_bytes(self):
        return self._peak

    def free_bytes(self):
        return self._peak - self._used

    def free_all_blocks(self, stream=None):
        self._peak = self._used

    def n_free_blocks(self):
        return 0

    def set_limit(self, size=None, fraction=None):
        pass

    def get_limit(self):
        return 0


POOL = MemoryPool()
PINNED_POOL = MemoryPool()


def _unwrap_index(key, shape):
    """NumPy index for ``key``: stand-in arrays unwrapped; integer arrays wrapped modulo the axis length."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(isinstance(k, np.ndarray) for k in key):
        raise TypeError("index: a numpy.ndarray index is not a device array (CuPy would copy it; xpnet must not)")
    out, axis = [], 0
    n_explicit = sum(1 for k in key if k is not None and k is not Ellipsis and not (isinstance(k, ndarray) and k.dtype == np.bool_))
    n_explicit += sum(k.ndim for k in key if isinstance(k, ndarray) and k.dtype == np.bool_)
    for k in key:
        if k is Ellipsis:
            out.append(k)
            axis += len(shape) - n_explicit
        elif k is None:
            out.append(k)
        elif isinstance(k, ndarray):
            a = k._a
            if a.dtype == np.bool_:
                out.append(a)
                axis += a.ndim
            else:
                n = shape[axis] if axis < len(shape) else 1
                out.append(np.mod(a, n) if n else a)  # CuPy wraps out-of-bounds integer indices
                axis += 1
        else:
            out.append(k)
            axis += 1
    return tuple(out)


def _is_view(r) -> bool:
    return isinstance(r, np.ndarray) and not r.flags.owndata


def wrap(r, name="op", count=True):
    """NumPy results as stand-in arrays (NumPy scalars become 0-d device arrays, as in CuPy); one device
    operation counted when anything was allocated."""
    if isinstance(r, np.ndarray):
        out = ndarray._new(r)
        if count and not _is_view(r):
            COUNTERS.op(name)
        return out
    if isinstance(r, np.generic):
        if count:
            COUNTERS.op(name)
        return ndarray._new(np.asarray(r))
    if isinstance(r, (tuple, list)):
        items = [wrap(x, name, count=False) for x in r]
        if count and any(isinstance(x, (np.ndarray, np.generic)) and not _is_view(x) for x in r):
            COUNTERS.op(name)
        return type(r)(items) if not hasattr(r, "_fields") else type(r)(*items)
    return r


def unwrap(x, argname="argument"):
    """The NumPy array behind ``x`` (recursively in lists and tuples); a ``numpy.ndarray`` is refused,
    as CuPy refuses host arrays in device operations."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type <class 'numpy.ndarray'> for {argname}: a host array met a device "
                        "operation (move it with cupy.asarray first)")
    if isinstance(x, (list, tuple)) and any(isinstance(v, (ndarray, np.ndarray)) for v in x):
        return type(x)(unwrap(v, argname) for v in x)
    return x


def _binary(name, npop):
    def f(self, other):
        if isinstance(other, np.ndarray):
            raise TypeError(f"Unsupported type <class 'numpy.ndarray'> in {name}: a host array met a device array")
        if not isinstance(other, (ndarray, int, float, bool, complex, np.generic)):
            return NotImplemented
        return wrap(npop(self._a, unwrap(other)), name)
    f.__name__ = name
    return f


def _inplace(name, npop):
    def f(self, other):
        if isinstance(other, np.ndarray):
            raise TypeError(f"Unsupported type <class 'numpy.ndarray'> in {name}: a host array met a device array")
        npop(self._a, unwrap(other), out=self._a, casting="same_kind")
        COUNTERS.op(name)
        return self
    f.__name__ = name
    return f


class ndarray:
    """A device array of the stand-in (host memory behind CuPy's rules)."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # NumPy defers to our reflected operators instead of converting

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        a = np.empty(shape, dtype=dtype, order=order)
        POOL._alloc(a)
        self._a = a

    @classmethod
    def _new(cls, a: np.ndarray):
        self = object.__new__(cls)
        self._a = a
        if a.flags.owndata:
            POOL._alloc(a)
        return self

    # -- metadata (no device work) ----------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    device = property(lambda self: Device(0))
    T = property(lambda self: wrap(self._a.T, "transpose"))
    mT = property(lambda self: wrap(np.swapaxes(self._a, -1, -2), "transpose"))

    def __len__(self):
        return len(self._a)

    def __repr__(self):
        return f"standin.cupy.ndarray(shape={self.shape}, dtype={self.dtype})"

    __str__ = __repr__

    # -- device → host: counted ---------------------------------------------------------------------
    def __array__(self, *a, **k):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream=None, order="C", out=None, blocking=True):
        COUNTERS.read("get")
        return self._a.copy()

    def item(self):
        COUNTERS.read("item")
        return self._a.item()

    def tolist(self):
        COUNTERS.read("tolist")
        return self._a.tolist()

    def __float__(self):
        COUNTERS.read("__float__")
        return float(self._a)

    def __int__(self):
        COUNTERS.read("__int__")
        return int(self._a)

    def __index__(self):
        COUNTERS.read("__index__")
        return operator.index(self._a)

    def __complex__(self):
        COUNTERS.read("__complex__")
        return complex(self._a)

    def __bool__(self):
        COUNTERS.read("__bool__")
        return bool(self._a)

    def __iter__(self):
        raise TypeError("iterating a device array reads it element by element; use .get() or slices")

    def __dlpack_device__(self):
        return (2, 0)  # kDLCUDA, device 0

    def __dlpack__(self, *a, **k):
        raise BufferError("stand-in: DLPack export of device memory to a host consumer is not possible")

    # -- elementwise operators ----------------------------------------------------------------------
    __add__ = _binary("add", np.add)
    __radd__ = _binary("add", lambda a, b: np.add(b, a))
    __sub__ = _binary("subtract", np.subtract)
    __rsub__ = _binary("subtract", lambda a, b: np.subtract(b, a))
    __mul__ = _binary("multiply", np.multiply)
    __rmul__ = _binary("multiply", lambda a, b: np.multiply(b, a))
    __truediv__ = _binary("true_divide", np.true_divide)
    __rtruediv__ = _binary("true_divide", lambda a, b: np.true_divide(b, a))
    __floordiv__ = _binary("floor_divide", np.floor_divide)
    __rfloordiv__ = _binary("floor_divide", lambda a, b: np.floor_divide(b, a))
    __mod__ = _binary("remainder", np.remainder)
    __rmod__ = _binary("remainder", lambda a, b: np.remainder(b, a))
    __pow__ = _binary("power", np.power)
    __rpow__ = _binary("power", lambda a, b: np.power(b, a))
    __matmul__ = _binary("matmul", np.matmul)
    __rmatmul__ = _binary("matmul", lambda a, b: np.matmul(b, a))
    __and__ = _binary("bitwise_and", np.bitwise_and)
    __rand__ = _binary("bitwise_and", lambda a, b: np.bitwise_and(b, a))
    __or__ = _binary("bitwise_or", np.bitwise_or)
    __ror__ = _binary("bitwise_or", lambda a, b: np.bitwise_or(b, a))
    __xor__ = _binary("bitwise_xor", np.bitwise_xor)
    __rxor__ = _binary("bitwise_xor", lambda a, b: np.bitwise_xor(b, a))
    __lshift__ = _binary("left_shift", np.left_shift)
    __rshift__ = _binary("right_shift", np.right_shift)
    __lt__ = _binary("less", np.less)
    __le__ = _binary("less_equal", np.less_equal)
    __gt__ = _binary("greater", np.greater)
    __ge__ = _binary("greater_equal", np.greater_equal)
    __eq__ = _binary("equal", np.equal)
    __ne__ = _binary("not_equal", np.not_equal)
    __hash__ = None

    __iadd__ = _inplace("add", np.add)
    __isub__ = _inplace("subtract", np.subtract)
    __imul__ = _inplace("multiply", np.multiply)
    __itruediv__ = _inplace("true_divide", np.true_divide)
    __ipow__ = _inplace("power", np.power)
    __iand__ = _inplace("bitwise_and", np.bitwise_and)
    __ior__ = _inplace("bitwise_or", np.bitwise_or)

    def __neg__(self):
        return wrap(np.negative(self._a), "negative")

    def __pos__(self):
        return wrap(np.positive(self._a), "positive")

    def __abs__(self):
        return wrap(np.abs(self._a), "absolute")

    def __invert__(self):
        return wrap(np.invert(self._a), "invert")

    # -- indexing -----------------------------------------------------------------------------------
    def __getitem__(self, key):
        return wrap(self._a[_unwrap_index(key, self.shape)], "getitem")

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):
            raise TypeError("Unsupported type <class 'numpy.ndarray'> in setitem: a host array met a device array")
        self._a[_unwrap_index(key, self.shape)] = unwrap(value)
        COUNTERS.op("setitem")

    # -- methods ------------------------------------------------------------------------------------
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return wrap(self._a.astype(dtype), "astype")

    def copy(self, order="C"):
        return wrap(self._a.copy(order=order), "copy")

    def reshape(self, *shape, order="C"):
        return wrap(self._a.reshape(*shape, order=order), "reshape")

    def view(self, dtype=None):
        return wrap(self._a.view(dtype) if dtype is not None else self._a.view(), "view")

    def ravel(self, order="C"):
        return wrap(self._a.ravel(order), "ravel")

    def fill(self, value):
        self._a.fill(value)
        COUNTERS.op("fill")

    def transpose(self, *axes):
        return wrap(self._a.transpose(*axes), "transpose")

    def swapaxes(self, a, b):
        return wrap(self._a.swapaxes(a, b), "swapaxes")

    def squeeze(self, axis=None):
        return wrap(self._a.squeeze(axis), "squeeze")

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError("set: expected a numpy.ndarray")
        self._a[...] = arr
        COUNTERS.op("h2d")

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):  # pickling a device array copies it to the host, as CuPy does
        COUNTERS.read("pickle")
        return (_from_host, (self._a.copy(),))


def _from_host(a):
    return wrap(np.array(a), "h2d")


def _method(name):
    def f(self, *args, **kwargs):
        args = [unwrap(a) for a in args]
        kwargs = {k: unwrap(v) for k, v in kwargs.items()}
        if "out" in kwargs:
            raise TypeError(f"{name}: out= is not supported by the stand-in")
        return wrap(getattr(self._a, name)(*args, **kwargs), name)
    f.__name__ = name
    return f


for _m in ("sum", "mean", "max", "min", "prod", "std", "var", "argmax", "argmin", "cumsum", "all", "any",
           "clip", "dot", "nonzero", "argsort", "sort", "round", "conj", "take", "repeat", "flatten",
           "diagonal", "trace"):
    setattr(ndarray, _m, _method(_m))
