"""xpnet: a small neural-net engine written once against the Python Array API.

The same layers, losses, optimisers and training loop run on NumPy, CuPy, PyTorch tensors and
``array_api_strict``; the API follows PyTorch (``nn``, ``optim``, ``Tensor.backward``) with a Keras-like
``fit``/``evaluate``/``predict``. The layers of the package are described in ``docs/architecture.md``.

>>> import xpnet as xn
>>> from xpnet import nn
>>> print(xn.set_backend("numpy"))      # or "torch", "cupy", "array_api_strict", a namespace module
numpy:cpu
>>> xn.manual_seed(0)                   # one seed for init, dropout and shuffling

Reverse-mode autograd on backend arrays:

>>> x = xn.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> print(xn.to_numpy(x.grad))          # d/dx Σ x² = 2x
[2. 4. 6.]

A model trained with ``fit``, then evaluated:

>>> X, y = xn.asarray([[0.0, 1.0], [1.0, 0.0]] * 16), xn.asarray([1, 0] * 16)
>>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
>>> opt = xn.optim.Adam(model.parameters(), lr=0.05)
>>> history = xn.fit(model, (X, y), optimizer=opt, epochs=20, batch_size=8, progress=False)
>>> history.epochs, xn.evaluate(model, (X, y))["accuracy"]
(20, 1.0)
>>> xn.to_numpy(xn.predict(model, X[:4])).tolist()
[1, 0, 1, 0]

How the engine runs (never what it computes) is one configuration object, ``xn.set_config`` /
``xn.get_config`` / ``xn.config_context`` (see :mod:`xpnet.options`):

>>> with xn.config_context(fast=False):  # the generic Array-API code, no fused kernels
...     xn.get_config()["fast"]
False
"""
from . import autograd, data, datasets, metrics, nn, optim, preprocessing
from ._version import __version__
from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .backend import (
    Backend,
    BackendMismatchError,
    BackendUnavailableError,
    asarray,
    available_backends,
    get_backend,
    get_default_dtype,
    manual_seed,
    set_backend,
    set_default_dtype,
    synchronize,
    to_device,
    to_numpy,
    use_backend,
)
from .options import config_context, get_config, set_config
from .tensor import Tensor, as_tensor, concat, exp, log, maximum, tanh, tensor
from .backend.random import Generator
from .train import CheckpointError, EarlyStopping, History, NonFiniteLossError, evaluate, fit, load, predict, save
from . import config  # noqa: E402 - after train: it builds on it
from .compile import compile  # noqa: E402,A004 - xn.compile(step) / xn.compile(model)
from .config import load_run

__all__ = [
    "Backend", "BackendMismatchError", "compile", "config_context", "get_config", "set_config", "CheckpointError", "Generator", "NonFiniteLossError", "EarlyStopping", "config",
    "History", "data", "datasets", "evaluate", "fit", "load",
    "metrics", "predict", "preprocessing", "save", "BackendUnavailableError", "Function", "Tensor", "__version__", "as_tensor",
    "asarray", "autograd", "available_backends", "concat", "enable_grad", "exp", "get_backend", "get_default_dtype",
    "is_grad_enabled", "load_run", "log", "manual_seed", "maximum", "nn", "no_grad", "optim", "set_backend",
    "set_default_dtype", "synchronize", "tanh", "tensor", "to_device", "to_numpy", "use_backend",
]


def __getattr__(name):  # lazy: ``xn.experiments`` and ``xn.sklearn`` load on first use
    if name in ("experiments", "sklearn"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'xpnet' has no attribute {name!r}")
