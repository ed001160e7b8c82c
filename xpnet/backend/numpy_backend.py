"""The NumPy backend: host memory, one device, views guaranteed; numba fast kernels (optional).

Differs from the generic backend in: arrays are the host's own (no copies in or out), one device,
native ``scipy.special.erf`` (when SciPy is installed), ``numpy.add.at`` for scatter-add, advanced
indexing for ``pick``, a one-pass dropout mask, and the numba GELU kernels of
:mod:`xpnet.backend.fast_numpy`. The namespace is :mod:`xpnet.backend.numpy_ns` (faster reductions).
"""
from __future__ import annotations

import numpy as np

from .base import Backend, BackendUnavailableError
from array_api_compat import device as device_of


class NumpyBackend(Backend):
    single_device = True
    supports_views = True
    host_native = True
    gpu_alternative = "cupy"
    kernels = {"gelu": "xpnet.backend.fast_numpy"}

    @classmethod
    def load(cls, device=None):
        from .numpy_ns import namespace as xp

        if device not in (None, "cpu"):
            raise BackendUnavailableError(f"backend 'numpy' runs on device 'cpu' only, got device={device!r}")
        return cls("numpy", xp, "cpu", np)

    def devices(self) -> list:
        return ["cpu"]

    def device_arg(self, dev):
        return None

    def from_host(self, host):
        return host

    def to_numpy(self, x):
        return np.asarray(x)

    def move_same(self, x, same_device):
        return x

    def import_foreign(self, x, src):
        if src.exports_dlpack and "cpu" in str(device_of(x)).lower():
            return np.from_dlpack(x)
        return None

    def dropout_mask(self, g, shape, p, dtype):
        u = g.random(shape, dtype=dtype)
        return np.multiply(u >= p, dtype.type(1.0 / (1.0 - p)), dtype=dtype)

    def erf(self, x):
        try:
            from scipy.special import erf
        except ImportError:
            return Backend.erf(self, x)
        self.erf = erf  # resolved once: later calls go straight to SciPy
        return erf(x)

    def scatter_add(self, n_rows, index, values):
        out = np.zeros((n_rows,) + tuple(values.shape[1:]), dtype=values.dtype)
        np.add.at(out, index, values)
        return out

    pick = Backend._pick_by_indexing

    def label_range(self, labels):
        return int(labels.min()), int(labels.max())
