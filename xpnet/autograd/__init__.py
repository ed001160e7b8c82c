"""Reverse-mode automatic differentiation: the engine (:class:`Tensor`, :class:`Function`, the
backward pass) in :mod:`xpnet.autograd.engine`, the primitives in :mod:`xpnet.autograd.ops`."""
from .engine import Context, Function, run_backward
from .gradcheck import gradcheck
from .grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = ["Context", "Function", "enable_grad", "is_grad_enabled", "no_grad", "gradcheck", "run_backward"]
