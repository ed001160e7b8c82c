"""xpnet's one configuration object: the switches that change *how* the engine runs, never *what* it
computes (in the spirit of scikit-learn's ``set_config`` / ``config_context``).

======================  =========  ===============================================================
option                  default    meaning
======================  =========  ===============================================================
``fast``                ``True``   use the registered fast kernels (numba on NumPy, CUDA on CuPy);
                                   ``False`` runs the generic Array-API code everywhere
                                   (the environment variable ``XPNET_FAST=0`` sets the default)
``fuse``                ``True``   let ``Sequential`` run runs of the library's own layers as one
                                   graph node (``xpnet.nn.fusion``); ``False`` runs every layer alone
``compile``             ``True``   the default of ``fit(compile=...)``: trace the training step once
                                   and replay it (``xpnet.compile``)
``compile_fusion``      ``True``   let a compiled step fuse runs of elementwise operations into one
                                   generated kernel (CuPy ``ElementwiseKernel``; numba on NumPy
                                   when ``fast`` is on; ``xpnet.compile.fusion``) where the results
                                   stay bit for bit eager's; ``"all"`` also fuses ``exp``/``log``...
                                   whose host math library may round one ulp apart from NumPy's
``compile_background``  ``True``   build a compiled step's fused numba kernels in a background thread
                                   and replay unfused until they are ready, when fused and unfused give
                                   the same bits (``compile_fusion=True``); ``False`` builds them at the
                                   trace (``"all"`` always does)
``compile_cache``       ``True``   the on-disk cache of fused numba kernels: ``True`` puts it in
                                   ``$XPNET_CACHE``, else ``$XDG_CACHE_HOME/xpnet``, else
                                   ``~/.cache/xpnet``; a path puts it there; ``False`` turns it off
                                   (an unwritable directory turns it off silently)
``default_dtype``       float32    the default floating dtype (also ``xn.set_default_dtype``)
======================  =========  ===============================================================

>>> import xpnet as xn
>>> xn.get_config()["fuse"]
True
>>> with xn.config_context(fuse=False):
...     xn.get_config()["fuse"]
False
>>> xn.get_config()["fuse"]
True

Scope, as for ``manual_seed`` and ``set_default_dtype``: ``set_config`` called in the main thread
sets the process default, which every thread sees unless it set its own; called in another thread
it sets that thread's values only. ``config_context`` always acts on the calling thread and restores
the previous values on exit, even on an exception.
"""
from __future__ import annotations

import contextlib
import os
import threading

_FLOATS = ("float32", "float64", "float16")


def _env_fast() -> bool:
    return os.environ.get("XPNET_FAST", "1").strip() != "0"


class _Options:
    """The process defaults and, per thread, the values a thread set for itself."""

    __slots__ = ("defaults", "local")

    def __init__(self):
        self.defaults = {"fast": _env_fast(), "fuse": True, "compile": True, "compile_fusion": True,
                         "compile_background": True, "compile_cache": True, "default_dtype": "float32"}
        self.local = threading.local()

    def get(self, name):
        own = getattr(self.local, "values", None)
        if own is not None and name in own:
            return own[name]
        return self.defaults[name]


_OPTIONS = _Options()


def _check(name, value):
    if name not in _OPTIONS.defaults:
        raise TypeError(f"set_config: unknown option {name!r}; expected one of {sorted(_OPTIONS.defaults)}")
    if name == "default_dtype":
        text = value if isinstance(value, str) else getattr(value, "name", str(value))
        text = text.rsplit(".", 1)[-1]
        if text not in _FLOATS:
            raise ValueError(f"set_config: default_dtype must be one of {_FLOATS}, got {value!r}")
        return text
    if name == "compile_fusion" and value == "all":
        return value
    if name == "compile_cache" and not isinstance(value, bool):
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
        raise TypeError(f"set_config: compile_cache must be a bool or a directory path, got {value!r} "
                        f"({type(value).__name__})")
    if not isinstance(value, bool):
        raise TypeError(f"set_config: {name} must be a bool, got {value!r} ({type(value).__name__})")
    return value


def get_option(name: str):
    """The current value of one option for the calling thread (cheap: used on hot paths)."""
    return _OPTIONS.get(name)


def get_config() -> dict:
    """A copy of every option's current value for the calling thread."""
    return {k: _OPTIONS.get(k) for k in _OPTIONS.defaults}


def set_config(**options) -> None:
    """Set options (``fast``, ``fuse``, ``compile``, ``default_dtype``); see the module docstring for
    the thread scope. Unknown names and wrong types raise before anything is changed."""
    checked = {k: _check(k, v) for k, v in options.items()}
    if threading.current_thread() is threading.main_thread():
        _OPTIONS.defaults.update(checked)
        own = getattr(_OPTIONS.local, "values", None)
        if own:
            for k in checked:
                own.pop(k, None)
    else:
        own = getattr(_OPTIONS.local, "values", None)
        if own is None:
            own = _OPTIONS.local.values = {}
        own.update(checked)


@contextlib.contextmanager
def config_context(**options):
    """Set options for the calling thread inside a ``with`` block; the previous values come back on
    exit. ``with xn.config_context(fast=False): ...`` runs the generic Array-API code."""
    checked = {k: _check(k, v) for k, v in options.items()}
    own = getattr(_OPTIONS.local, "values", None)
    if own is None:
        own = _OPTIONS.local.values = {}
    saved = dict(own)
    own.update(checked)
    try:
        yield
    finally:
        own.clear()
        own.update(saved)


__all__ = ["config_context", "get_config", "get_option", "set_config"]
