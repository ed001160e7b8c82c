"""xpnet: a small neural-net engine written once against the Python Array API.

>>> import xpnet as xn
>>> xn.set_backend("numpy")            # or "torch", "cupy", "array_api_strict", a namespace module
>>> model = xn.nn.Sequential(xn.nn.Linear(40, 100), xn.nn.ReLU(), xn.nn.Linear(100, 10))
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
