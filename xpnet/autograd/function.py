"""Old import path of :class:`Function`, :class:`Context` and :func:`run_backward`; they live in
:mod:`xpnet.autograd.engine`."""
from .engine import Context, Function, run_backward

__all__ = ["Context", "Function", "run_backward"]
