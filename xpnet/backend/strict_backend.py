"""The ``array_api_strict`` backend: the standard and nothing more, with a second fake device.

Everything is the generic backend's except loading and devices (``array_api_strict.Device``), moving
between its devices, and reading arrays back (no DLPack export). It proves that xpnet needs nothing
beyond the standard, and, with ``"array_api_strict:device1"``, the device rules without a GPU.
"""
from __future__ import annotations

import numpy as np

from .base import Backend, BackendUnavailableError


class StrictBackend(Backend):
    exports_dlpack = False
    gpu_alternative = "cupy"

    @classmethod
    def load(cls, device=None):
        try:
            import array_api_strict as xp
        except ImportError as e:
            raise BackendUnavailableError(f"backend 'array_api_strict' is not installed ({e}); pip install array-api-strict") from None
        dev = xp.Device(device) if isinstance(device, str) else (device or xp.Device("CPU_DEVICE"))
        return cls("array_api_strict", xp, dev, xp)

    def devices(self) -> list:
        return [str(d) for d in self.xp.__array_namespace_info__().devices()]

    def to_numpy(self, x):
        xp = self.xp
        return np.asarray(xp.asarray(x, device=xp.Device("CPU_DEVICE"), copy=True)._array)

    def move_same(self, x, same_device):
        return x if same_device else self.xp.asarray(x, device=self.device, copy=True)
