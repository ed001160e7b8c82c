"""The public import path of :class:`Tensor` and its free functions; they are defined in the engine,
:mod:`xpnet.autograd.engine`.

>>> import xpnet as xn
>>> t = xn.tensor([1.0, 2.0], requires_grad=True)
>>> (t * 3).sum().item()
9.0
"""
from .autograd.engine import Tensor, as_tensor, concat, exp, is_tensor, log, maximum, tanh, tensor

__all__ = ["Tensor", "as_tensor", "concat", "exp", "is_tensor", "log", "maximum", "tanh", "tensor"]
