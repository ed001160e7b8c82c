"""The PyTorch backend (``array_api_compat.torch``): CPU or CUDA devices, native random streams.

Differs from the generic backend in: devices (``"torch:0"`` means ``cuda:0``), ``Tensor.to`` between
devices, DLPack with NumPy (CPU) and CuPy (CUDA), CUDA synchronisation, ``torch.Generator`` streams
(state as a byte list), ``torch.special.erf``, ``index_add_`` for scatter-add, advanced indexing for
``pick``, views guaranteed.
"""
from __future__ import annotations

import numpy as np
from array_api_compat import device as device_of

from .base import Backend, BackendUnavailableError, scale_shift


class TorchBackend(Backend):
    supports_views = True
    rng_kind = "torch"
    dlpack_cuda = True

    @classmethod
    def load(cls, device=None):
        try:
            import torch
            import array_api_compat.torch as xp
        except ImportError as e:
            raise BackendUnavailableError(f"backend 'torch' is not installed ({e}); pip install torch") from None
        dev = torch.device(device if device is not None else "cpu")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError("backend 'torch' with device 'cuda': torch sees no CUDA GPU")
        return cls("torch", xp, dev, torch)

    @classmethod
    def parse_device(cls, text):
        return f"cuda:{text}" if text.isdigit() else text

    def devices(self) -> list:
        t = self.native
        n = t.cuda.device_count() if t.cuda.is_available() else 0
        return ["cpu"] + [f"cuda:{i} ({t.cuda.get_device_name(i)})" for i in range(n)]

    def device_arg(self, dev):
        return str(dev)

    def to_numpy(self, x):
        return x.detach().cpu().numpy()

    def move_same(self, x, same_device):
        return x if same_device else x.to(self.device)

    def import_foreign(self, x, src):
        if not src.exports_dlpack:
            return None
        here, there = str(self.device), str(device_of(x))
        if ("cpu" in there.lower() and "cpu" in here) or (src.dlpack_cuda and "cuda" in there + here):
            return self.xp.from_dlpack(x)
        return None

    def synchronize(self):
        if getattr(self.device, "type", "cpu") == "cuda":
            self.native.cuda.synchronize(self.device)

    def on_host(self, x):
        return x.device.type == "cpu"

    # random streams: torch.Generator on the backend's device
    def new_generator(self, seed):
        g = self.native.Generator(device=self.device)
        g.manual_seed(seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63))
        return g

    def rng_state(self, g, seed):
        return {"kind": "torch", "state": g.get_state().tolist()}

    def restore_rng(self, g, state):
        g.set_state(self.native.tensor(state["state"], dtype=self.native.uint8))
        return g

    def normal(self, g, shape, dtype, mean, std):
        t = self.native
        out = t.randn(shape, generator=g, device=self.device, dtype=getattr(t, dtype))
        return scale_shift(out, std, mean)

    def uniform(self, g, shape, dtype, low, high):
        t = self.native
        out = t.rand(shape, generator=g, device=self.device, dtype=getattr(t, dtype))
        return scale_shift(out, high - low, low)

    def permutation(self, g, n):
        return self.native.randperm(n, generator=g, device=self.device)

    def dropout_mask(self, g, shape, p, dtype):
        u = self.native.rand(shape, generator=g, device=self.device, dtype=dtype)
        return (u >= p).to(dtype) * (1.0 / (1.0 - p))

    folds_bias = True

    def affine(self, x, w, b):
        """``torch.nn.functional.linear``: one ``addmm`` with the bias in the product (2-D input), as
        ``torch.nn.Linear`` computes it."""
        return self.native.nn.functional.linear(x, w, b)

    def erf(self, x):
        self.erf = self.native.special.erf
        return self.erf(x)

    def scatter_add(self, n_rows, index, values):
        out = self.xp.zeros((n_rows,) + tuple(values.shape[1:]), dtype=values.dtype, device=values.device)
        return out.index_add_(0, index, values)

    pick = Backend._pick_by_indexing
