"""The backend package: the one place in xpnet that touches array libraries directly.

Everything else gets its namespace from its arrays or from here. The pieces:

- :mod:`.base`: the backend protocol, whose base class is the generic pure-Array-API backend;
- one file per library (:mod:`.numpy_backend`, :mod:`.torch_backend`, :mod:`.cupy_backend`,
  :mod:`.strict_backend`), each overriding only what differs;
- :mod:`.registry`: the one table from names and namespaces to backend objects
  (:func:`register` adds a backend: see ``docs/backend.md``);
- :mod:`.ops`: the math layers call (``erf``, ``scatter_add``, ``one_hot``, ``pick``, fast kernels);
- :mod:`.devices`, :mod:`.random`, :mod:`.dtypes`, :mod:`.state`: data movement, random streams,
  dtypes, the active backend.
"""
from .devices import (
    on_host,
    on_host_check,
    BackendMismatchError,
    asarray,
    check_numeric,
    backend_of,
    describe,
    device_of,
    is_array,
    mismatch,
    namespace_of,
    synchronize,
    to_device,
    to_numpy,
)
from .dtypes import dtype_name, get_default_dtype, resolve_dtype, set_default_dtype
from .random import manual_seed
from .registry import (KNOWN, Backend, BackendUnavailableError, available_backends, backend_for, load, namespace_name,
                       register, register_kernels, unregister)
from .state import get_backend, set_backend, use_backend

__all__ = [
    "Backend", "BackendMismatchError", "BackendUnavailableError", "KNOWN", "asarray", "backend_for",
    "register", "register_kernels", "unregister", "check_numeric", "available_backends",
    "backend_of", "describe", "on_host", "on_host_check", "device_of", "dtype_name", "get_backend", "get_default_dtype", "is_array", "load",
    "manual_seed", "mismatch", "namespace_name", "namespace_of", "resolve_dtype", "set_backend",
    "set_default_dtype", "synchronize", "to_device", "to_numpy", "use_backend",
]
