"""Every primitive :class:`~xpnet.autograd.engine.Function` of the engine, by name, in one place.

==========================  ===================================================================
file                        primitives
==========================  ===================================================================
``ops_elementwise``         Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Maximum (with broadcasting)
``ops_activation``          ReLUFn, LeakyReLUFn, SigmoidFn, TanhFn, GELUFn, SoftmaxFn, LogSoftmaxFn
``ops_reduce``              Sum, Mean
``ops_shape``               Reshape, Permute, GetItem, Take, Concat
``ops_linalg``              MatMul
==========================  ===================================================================

The layer-sized Functions (LinearFn, BatchNormFn, the convolutions, the losses) live next to their
functional forms in :mod:`xpnet.nn.functional`.
"""
from .ops_activation import GELUFn, LeakyReLUFn, LogSoftmaxFn, ReLUFn, SigmoidFn, SoftmaxFn, TanhFn
from .ops_elementwise import Add, Div, Exp, Log, Maximum, Mul, Neg, Pow, Sub, unbroadcast
from .ops_linalg import MatMul
from .ops_reduce import Mean, Sum
from .ops_shape import Concat, GetItem, Permute, Reshape, Take

__all__ = [
    "Add", "Concat", "Div", "Exp", "GELUFn", "GetItem", "LeakyReLUFn", "Log", "LogSoftmaxFn", "MatMul", "Maximum",
    "Mean", "Mul", "Neg", "Permute", "Pow", "ReLUFn", "Reshape", "SigmoidFn", "SoftmaxFn", "Sub", "Sum", "Take",
    "TanhFn", "unbroadcast",
]
