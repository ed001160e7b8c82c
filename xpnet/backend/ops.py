"""The math layers reach through one module (as Keras 3 layers reach theirs through ``keras.ops``):
the functions the Array API standard lacks, each dispatched to the backend serving the namespace.

Every function takes the namespace first (``erf(xp, x)``): layers already hold it, and resolving it
from an array costs about 2 µs. Dispatch is one dictionary lookup by ``id(xp)`` into the table of
:func:`xpnet.backend.registry.backend_for`, then the backend's method (the generic pure-Array-API
one unless the library's file overrides it). Fast kernels are looked up by family and honour
``xn.config_context(fast=False)``.

>>> import numpy as np
>>> from xpnet.backend import ops, load
>>> xp = load("array_api_strict").xp
>>> [int(v) for v in ops.scatter_add(xp, 3, xp.asarray([0, 2, 0]), xp.asarray([1.0, 2.0, 3.0]))]
[4, 0, 2]
>>> ops.supports_views(xp), ops.supports_views(load("numpy").xp)
(False, True)
"""
from __future__ import annotations

import numpy as _np

from ..options import get_option
from .dtypes import is_integral
from .registry import _BY_ID, backend_for
from .special import erf_array_api

_UNSET = object()


def affine(xp, x, w, b):
    """y = x Wᵀ + b (W: out × in). Native: ``torch.nn.functional.linear`` (one ``addmm``, the bias
    folded into the matrix product); generic: the product and an in-place bias add. Layers call it only
    where :func:`folds_bias` (elsewhere they write the two operations, which a compiled step fuses)."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).affine(x, w, b)


def folds_bias(xp) -> bool:
    """True where :func:`affine` is one library call with the bias inside the product (PyTorch)."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).folds_bias


def erf(xp, x):
    """erf(x) = 2/√π ∫₀ˣ e^(−t²) dt elementwise, keeping ``x``'s dtype. Native:
    ``scipy.special.erf`` (NumPy), ``torch.special.erf``, ``cupyx.scipy.special.erf``; generic:
    :func:`xpnet.backend.special.erf_array_api` (Cephes ``erff`` in float32, ≤ 3 ulps)."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).erf(x)


def scatter_add(xp, n_rows: int, index, values):
    """``out[index[i]] += values[i]`` into a zero array of ``n_rows`` rows; repeated indices add up.
    Native: ``numpy.add.at``, ``torch.index_add_``, ``cupyx.scatter_add``; generic: a one-hot matrix
    product (never ``out[idx] += v``, which drops repeated indices)."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).scatter_add(n_rows, index, values)


def one_hot(xp, labels, num_classes: int, dtype):
    """One-hot rows: ``out[i, c] = 1 if labels[i] == c``, shape ``labels.shape + (num_classes,)``."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).one_hot(labels, num_classes, dtype)


def pick(xp, a, index):
    """``out[i] = a[i, index[i]]`` for a 2-D ``a`` and integer ``index`` (N,). Native: advanced
    indexing (NumPy, CuPy, PyTorch); generic: ``take_along_axis``."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).pick(a, index)


def label_range(xp, labels):
    """(min, max) of an integer label array as Python ints (one host read each)."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).label_range(labels)


def host_native(xp) -> bool:
    """True when ``xp``'s arrays are the host's own (NumPy): reading a value costs nothing."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).host_native


def single_device(xp) -> bool:
    """True when every array of ``xp`` lives on one device (NumPy): device checks can be skipped."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).single_device


def supports_views(xp) -> bool:
    """True where slices and reshapes of a contiguous array share its memory (NumPy, CuPy, PyTorch)."""
    return (_BY_ID.get(id(xp)) or backend_for(xp)).supports_views


def fast_kernels(xp, family: str):
    """The module of fast kernels of ``family`` (``"gelu"``, ``"batchnorm"``) for ``xp``'s backend,
    or None (none registered, or ``xn.config_context(fast=False)``)."""
    if not get_option("fast"):
        return None
    b = _BY_ID.get(id(xp)) or backend_for(xp)
    mod = b._kernel_modules.get(family, _UNSET)  # the backend's own cache, read inline (hot path)
    return b.fast_kernels(family) if mod is _UNSET else mod


def batchnorm_kernels(xp):
    """The fused batch-norm kernels for ``xp`` (CuPy's), or None: see :func:`fast_kernels`."""
    if not get_option("fast"):
        return None
    b = _BY_ID.get(id(xp)) or backend_for(xp)
    mod = b._kernel_modules.get("batchnorm", _UNSET)
    return b.fast_kernels("batchnorm") if mod is _UNSET else mod


def gelu_fast_path(xp, x):
    """The fused GELU kernels (numba on NumPy, an ElementwiseKernel on CuPy) when they apply to
    ``x``, else None."""
    fast = fast_kernels(xp, "gelu")
    return fast if fast is not None and fast.gelu_applicable(x) else None


__all__ = ["affine", "batchnorm_kernels", "erf", "erf_array_api", "fast_kernels", "folds_bias", "gelu_fast_path",
           "host_native", "is_integral", "label_range", "one_hot", "pick", "scatter_add", "single_device", "supports_views"]


def is_host_scalar(x) -> bool:
    """True for a NumPy scalar (``numpy.float32(1.0)``, what NumPy returns for a full reduction): a
    0-d value that is not an array of any namespace."""
    return isinstance(x, _np.generic)


def library_modules() -> tuple:
    """The top-level module names of the registered array libraries (for code that walks objects and
    must not descend into a library's internals)."""
    from .registry import names

    return names()  # each built-in backend is named after its library
