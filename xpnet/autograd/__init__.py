"""Reverse-mode automatic differentiation: :class:`Function`, grad modes, the backward engine."""
from .function import Context, Function, run_backward
from .gradcheck import gradcheck
from .grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = ["Context", "Function", "enable_grad", "is_grad_enabled", "no_grad", "gradcheck", "run_backward"]
