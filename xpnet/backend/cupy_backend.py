"""The CuPy backend (``array_api_compat.cupy``): NVIDIA GPUs, fused CUDA kernels.

Differs from the generic backend in: loading (says in one line why an installed CuPy cannot run),
``cupy.cuda.Device`` contexts for every creation, DLPack with PyTorch on CUDA, stream
synchronisation, arrays never on the host, CuPy generators (state: the seed), ``cupyx`` erf and
scatter-add, advanced indexing for ``pick``, views guaranteed, and the fused ``ElementwiseKernel``
fast paths of :mod:`xpnet.backend.fast_cupy` (GELU, batch norm).

The CuPy stand-in (:mod:`xpnet.bench.cupy_standin`, test id ``cupy-standin``) is this backend on a
host-memory namespace that imports as ``cupy``: nothing here knows the difference.
"""
from __future__ import annotations

from array_api_compat import device as device_of

from .base import Backend, BackendUnavailableError, scale_shift


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


class CupyBackend(Backend):
    supports_views = True
    rng_kind = "cupy"
    dlpack_cuda = True
    kernels = {"gelu": "xpnet.backend.fast_cupy", "batchnorm": "xpnet.backend.fast_cupy"}

    @classmethod
    def load(cls, device=None):
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
        return cls("cupy", xp, cupy.cuda.Device(index), cupy)

    @property
    def is_gpu(self) -> bool:
        return True

    def devices(self) -> list:
        rt = self.native.cuda.runtime
        return [f"cuda:{i} ({rt.getDeviceProperties(i)['name'].decode()})" for i in range(rt.getDeviceCount())]

    def device_arg(self, dev):
        return getattr(dev, "id", 0)

    def from_host(self, host):
        with self.device:
            return self.native.asarray(host)

    def to_numpy(self, x):
        return x.get()

    def move_same(self, x, same_device):
        if same_device:
            return x
        with self.device:
            return self.native.asarray(x)

    def import_foreign(self, x, src):
        if src.exports_dlpack and src.dlpack_cuda and "cuda" in str(device_of(x)) + str(self.device):
            return self.xp.from_dlpack(x)
        return None

    def synchronize(self):
        self.native.cuda.get_current_stream().synchronize()

    def on_host(self, x):
        return False

    # random streams: CuPy generators on the backend's device
    def new_generator(self, seed):
        with self.device:
            return self.native.random.default_rng(seed)

    def rng_state(self, g, seed):
        return {"kind": "cupy", "seed": seed}  # CuPy's bit generator has no portable state

    def restore_rng(self, g, state):
        return self.new_generator(state.get("seed"))

    def normal(self, g, shape, dtype, mean, std):
        with self.device:
            out = g.standard_normal(shape, dtype=dtype)
        return scale_shift(out, std, mean)

    def uniform(self, g, shape, dtype, low, high):
        with self.device:
            out = g.random(shape, dtype=dtype)
        return scale_shift(out, high - low, low)

    def permutation(self, g, n):
        with self.device:
            return self.native.argsort(g.random(n))

    def erf(self, x):
        from cupyx.scipy.special import erf

        self.erf = erf
        return erf(x)

    def scatter_add(self, n_rows, index, values):
        import cupyx

        out = self.xp.zeros((n_rows,) + tuple(values.shape[1:]), dtype=values.dtype, device=values.device)
        cupyx.scatter_add(out, index, values)
        return out

    pick = Backend._pick_by_indexing
