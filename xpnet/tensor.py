"""``Tensor``: one backend array plus what reverse-mode autograd needs.

The namespace is resolved once, when a Tensor is made from a raw array; Tensors produced by
operations inherit it from their inputs, so no operation looks it up again.
"""
from __future__ import annotations

import math

from .autograd import function as _fn
from .autograd.ops_elementwise import Add, Div, Exp, Log, Maximum, Mul, Neg, Pow, Sub, Tanh
from .autograd.ops_linalg import MatMul
from .autograd.ops_reduce import Mean, Sum
from .autograd.ops_shape import Concat, GetItem, Permute, Reshape, Take
from .backend import load as load_backend
from .backend import asarray, is_array, mismatch, namespace_name, namespace_of, to_device, to_numpy


class Tensor:
    """A backend array (``.data``) with an optional gradient (``.grad``, a raw array of the same
    backend) and the graph node that produced it.

    ``Tensor(data, requires_grad=False)``: ``data`` is an array of any backend (kept as is) or
    anything :func:`xpnet.asarray` accepts (placed on the active backend).
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "_index", "_xp", "__weakref__")
    __array_ufunc__ = None  # NumPy defers `ndarray op Tensor` to the Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if not is_array(data) or dtype is not None:
            data = asarray(data, dtype=dtype)
        self.data = data
        self._xp = namespace_of(data)
        self.grad = None
        self.requires_grad = requires_grad
        self._node = None
        self._index = 0

    @classmethod
    def _make(cls, data, xp, requires_grad=False):
        t = object.__new__(cls)
        t.data, t._xp, t.grad, t.requires_grad, t._node, t._index = data, xp, None, requires_grad, None, 0
        return t

    # -- properties ---------------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self):
        return getattr(self.data, "device", "cpu")

    @property
    def xp(self):
        """The Array API namespace of ``.data``."""
        return self._xp

    @property
    def backend(self) -> str:
        return namespace_name(self._xp)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def numel(self) -> int:
        return math.prod(self.data.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({to_numpy(self.data)!r}, backend={self.backend}{grad})"

    # -- autograd -----------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) · grad into every leaf's ``.grad``. ``grad`` defaults to 1 for
        a one-element tensor."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph")
        if grad is None:
            if self.numel() != 1:
                raise RuntimeError(f"backward: grad can be omitted only for a one-element tensor, shape is {self.shape}")
            grad = self._xp.ones_like(self.data)
        else:
            grad = self._coerce(grad, "backward").data if isinstance(grad, Tensor) or is_array(grad) else grad
        _fn.run_backward(self, grad, retain_graph=retain_graph)

    def detach(self) -> "Tensor":
        return Tensor._make(self.data, self._xp)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = flag
        return self

    def zero_grad(self) -> None:
        self.grad = None

    # -- conversion -----------------------------------------------------------------------------
    def numpy(self):
        """A host NumPy array of the data."""
        return to_numpy(self.data)

    def item(self):
        """The single value as a Python number (a host synchronisation: not for inner loops)."""
        if self.numel() != 1:
            raise ValueError(f"item: tensor has {self.numel()} elements, expected 1")
        return to_numpy(self.data).reshape(()).item()

    def to(self, target) -> "Tensor":
        """This tensor's data on another backend/device (a new leaf with the same requires_grad)."""
        data = to_device(self.data, target)
        t = Tensor._make(data, namespace_of(data), self.requires_grad)
        return t

    def astype(self, dtype) -> "Tensor":
        from .backend import resolve_dtype

        return Tensor._make(self._xp.astype(self.data, resolve_dtype(self._xp, dtype)), self._xp, self.requires_grad)

    def _coerce(self, other, op):
        """``other`` as a Tensor of this tensor's backend, refusing foreign arrays."""
        if isinstance(other, Tensor):
            return other
        if is_array(other):
            if namespace_of(other) is not self._xp:
                raise mismatch(op, self.data, other)
            return Tensor._make(other, self._xp)
        raise TypeError(f"{op}: expected a Tensor, array or number, got {type(other).__name__}")

    def _operand(self, other, op):
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return other
        return self._coerce(other, op)

    # -- arithmetic -------------------------------------------------------------------------------
    def __add__(self, o):
        o = self._operand(o, "add")
        return Add.apply(self, o)

    def __radd__(self, o):
        return Add.apply(self._operand(o, "add"), self)

    def __sub__(self, o):
        return Sub.apply(self, self._operand(o, "sub"))

    def __rsub__(self, o):
        o = self._operand(o, "sub")
        return Sub.apply(o, self) if isinstance(o, Tensor) else Add.apply(Neg.apply(self), o)

    def __mul__(self, o):
        return Mul.apply(self, self._operand(o, "mul"))

    def __rmul__(self, o):
        return Mul.apply(self._operand(o, "mul"), self)

    def __truediv__(self, o):
        return Div.apply(self, self._operand(o, "div"))

    def __rtruediv__(self, o):
        o = self._operand(o, "div")
        if isinstance(o, Tensor):
            return Div.apply(o, self)
        return Mul.apply(Pow.apply(self, -1), o)

    def __neg__(self):
        return Neg.apply(self)

    def __pow__(self, p):
        if not isinstance(p, (int, float)):
            raise TypeError(f"pow: exponent must be a Python number, got {type(p).__name__}")
        return Pow.apply(self, p)

    def __matmul__(self, o):
        return MatMul.apply(self, self._coerce(o, "matmul"))

    def __rmatmul__(self, o):
        return MatMul.apply(self._coerce(o, "matmul"), self)

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        return GetItem.apply(self, index)

    # comparisons return raw boolean arrays (no gradient)
    def _cmp_data(self, o):
        return o.data if isinstance(o, Tensor) else o

    def __lt__(self, o):
        return self.data < self._cmp_data(o)

    def __le__(self, o):
        return self.data <= self._cmp_data(o)

    def __gt__(self, o):
        return self.data > self._cmp_data(o)

    def __ge__(self, o):
        return self.data >= self._cmp_data(o)

    __hash__ = object.__hash__

    # -- functions --------------------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        return Sum.apply(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        return Mean.apply(self, axis, keepdims)

    def reshape(self, *shape) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape)

    def transpose(self, *axes) -> "Tensor":
        """Reverse the axes (``.T``), or permute them as given."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        elif len(axes) == 2 and self.ndim > 2:
            a, b = (x % self.ndim for x in axes)
            perm = list(range(self.ndim))
            perm[a], perm[b] = perm[b], perm[a]
            axes = tuple(perm)
        return Permute.apply(self, tuple(axes))

    def take(self, indices, axis: int = 0) -> "Tensor":
        """Gather entries at integer ``indices`` along ``axis`` (gradients of repeats add up)."""
        if isinstance(indices, Tensor):
            indices = indices.data
        return Take.apply(self, indices, axis)

    def exp(self) -> "Tensor":
        return Exp.apply(self)

    def log(self) -> "Tensor":
        return Log.apply(self)

    def tanh(self) -> "Tensor":
        return Tanh.apply(self)

    def maximum(self, other) -> "Tensor":
        return maximum(self, other)

    def relu(self) -> "Tensor":
        from .nn.functional import relu

        return relu(self)


_fn._tensor_class.append(Tensor)
_fn._NUMPY[0] = load_backend("numpy").xp


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """A new leaf Tensor of ``data`` (lists, NumPy or any backend's array) on the active backend
    (``xn.tensor([[1., 2.]], requires_grad=True)``)."""
    return Tensor(asarray(data, dtype=dtype), requires_grad)


def as_tensor(x) -> Tensor:
    """``x`` itself if a Tensor, else a Tensor wrapping it (raw arrays keep their backend)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def maximum(a, b) -> Tensor:
    """Elementwise maximum of two tensors (or a tensor and a number)."""
    if not isinstance(a, Tensor):
        a, b = b, a
    return Maximum.apply(a, a._operand(b, "maximum"))


def exp(x) -> Tensor:
    return as_tensor(x).exp()


def log(x) -> Tensor:
    return as_tensor(x).log()


def tanh(x) -> Tensor:
    return as_tensor(x).tanh()


def concat(tensors, axis: int = 0) -> Tensor:
    """Join tensors along ``axis`` (all of one backend and device)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concat: expected at least one tensor")
    return Concat.apply(axis, *tensors)


__all__ = ["Tensor", "as_tensor", "concat", "exp", "log", "maximum", "tanh", "tensor"]
