"""The autograd engine in one file: :class:`Tensor`, :class:`Context`, :class:`Function` and the
reverse-mode backward pass (in the spirit of micrograd and ``torch/autograd/function.py``).

A :class:`Function` has a ``forward`` and a hand-written ``backward`` that both work on raw backend
arrays, not Tensors; ``Function.apply`` runs ``forward`` and, when some input requires a gradient,
records the call as one graph node (the ``ctx`` object itself). A fused layer (Linear, BatchNorm,
softmax-cross-entropy) is therefore one node whose backward is plain array code: the engine adds one
Python call per node and nothing per elementwise operation. :meth:`Tensor.backward` walks the nodes in
reverse topological order and accumulates gradients into the leaves' ``.grad`` (raw arrays).

The primitive Functions (``+``, ``@``, ``sum``, ``reshape``, the activations, ...) live in
:mod:`xpnet.autograd.ops` and the ``ops_*`` files it gathers; they subclass :class:`Function` from here,
so this module imports none of them at import time (no import cycle): :func:`_ops` fetches them on
first use.

>>> import xpnet as xn
>>> x = xn.tensor([[1.0, -2.0, 3.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> xn.to_numpy(x.grad).tolist()
[[2.0, -4.0, 6.0]]

A new differentiable operation subclasses :class:`Function`:

>>> class Cube(xn.Function):
...     @staticmethod
...     def forward(ctx, a):
...         ctx.save_for_backward(a)
...         return a * a * a
...     @staticmethod
...     def backward(ctx, g):
...         (a,) = ctx.saved_tensors
...         return 3 * a * a * g
>>> z = Cube.apply(x).sum()
>>> z.backward()
>>> xn.to_numpy(x.grad).tolist()  # 2x + 3x², accumulated
[[5.0, 8.0, 33.0]]
"""
from __future__ import annotations

import functools
import math

from ..backend.devices import ArrayHolder
from ..backend import asarray, is_array, mismatch, namespace_name, namespace_of, resolve_dtype, to_device, to_numpy
from .grad_mode import _state


@functools.cache
def _ops():
    """The module of primitive Functions, imported on first use (it subclasses :class:`Function`)."""
    from . import ops

    return ops


def is_tensor(x) -> bool:
    """True when ``x`` is a :class:`Tensor` (or a subclass such as ``Parameter``), False for raw arrays."""
    return isinstance(x, Tensor)


def data_of(x):
    """The raw backend array of a Tensor, or ``x`` itself (an array, a number, None)."""
    return x.data if isinstance(x, Tensor) else x


# -- Context and Function ---------------------------------------------------------------------------
class Context:
    """Per-call state of a :class:`Function`: ``ctx.xp`` (namespace), ``ctx.save_for_backward(...)``,
    ``ctx.saved_tensors``, ``ctx.needs_input_grad``; any other attribute may be set freely."""

    __slots__ = ("fn", "xp", "inputs", "needs_input_grad", "saved_tensors", "n_out", "pending", "out_meta", "__dict__")

    def __init__(self, fn, xp):
        self.fn = fn
        self.xp = xp
        self.saved_tensors = ()
        self.pending = None

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``.apply``
    (as ``torch.autograd.Function``).

    ``forward`` receives the raw arrays of Tensor arguments (other arguments as given) and returns an
    array or a tuple of arrays; ``backward`` receives one gradient array per output and returns one
    gradient (or ``None``) per ``forward`` argument. ``ctx.needs_input_grad[i]`` says whether
    argument *i* needs one. All Tensor arguments must share one namespace and device.
    """

    @staticmethod
    def forward(ctx, *args):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        first = None
        raw = list(args)
        needs = [False] * len(args)
        record = False
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if first is None:
                    first = a
                elif a._xp is not first._xp or (getattr(a.data, "device", None) != getattr(first.data, "device", None)):
                    raise mismatch(cls.__name__, first.data, a.data)
                raw[i] = a.data
                if a.requires_grad:
                    needs[i] = record = True
        if first is None:
            raise TypeError(f"{cls.__name__}.apply: expected at least one Tensor argument, got "
                            f"{[type(a).__name__ for a in args]}")
        xp = first._xp
        ctx = Context(cls, xp)
        record = record and _state.enabled
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        out = cls.forward(ctx, *raw)
        if record:
            ctx.inputs = [a if n else None for a, n in zip(args, needs)]
        if type(out) is tuple:
            outs = tuple(Tensor._make(o, xp, record) for o in out)
            if record:
                ctx.n_out = len(outs)
                ctx.out_meta = tuple((o.shape, o.dtype, getattr(o, "device", None)) for o in out)
                for i, t in enumerate(outs):
                    t._node, t._index = ctx, i
            return outs
        t = Tensor._make(out, xp, record)
        if record:
            ctx.n_out = 1
            t._node = ctx
        return t


# -- the backward pass ----------------------------------------------------------------------------
def _topological(root_node):
    """Nodes reachable from ``root_node``, each after every node that consumes its outputs."""
    order, visited = [], set()
    stack = [(root_node, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for t in node.inputs:
            if t is not None and t._node is not None and id(t._node) not in visited:
                stack.append((t._node, False))
    order.reverse()
    return order


def run_backward(tensor, grad, retain_graph=False):
    """Reverse-mode pass from ``tensor`` with output gradient ``grad`` (a raw array): every node's
    ``backward`` runs once, after all its consumers; leaf ``.grad`` accumulates (adds)."""
    node = tensor._node
    if node is None:
        tensor.grad = grad if tensor.grad is None else tensor.grad + grad
        return
    node.pending = [None] * node.n_out
    node.pending[tensor._index] = grad
    for node in _topological(node):
        grads = node.pending
        node.pending = None
        if grads is None:
            continue
        if node.saved_tensors is None:
            raise RuntimeError(
                f"backward through {node.fn.__name__} a second time: its saved arrays were freed; "
                "pass retain_graph=True to the first backward()"
            )
        if node.n_out > 1 and any(g is None for g in grads):
            grads = [node.xp.zeros(s, dtype=d, device=v) if g is None else g
                     for g, (s, d, v) in zip(grads, node.out_meta)]
        in_grads = node.fn.backward(node, *grads)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for t, g in zip(node.inputs, in_grads):
            if t is None or g is None:
                continue
            parent = t._node
            if parent is None:
                t.grad = g if t.grad is None else t.grad + g
            else:
                if parent.pending is None:
                    parent.pending = [None] * parent.n_out
                prev = parent.pending[t._index]
                parent.pending[t._index] = g if prev is None else prev + g
        if not retain_graph:
            node.saved_tensors = None


# -- Tensor ------------------------------------------------------------------------------------------
class Tensor(ArrayHolder):
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
        run_backward(self, grad, retain_graph=retain_graph)

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
        return _ops().Add.apply(self, o)

    def __radd__(self, o):
        return _ops().Add.apply(self._operand(o, "add"), self)

    def __sub__(self, o):
        return _ops().Sub.apply(self, self._operand(o, "sub"))

    def __rsub__(self, o):
        o = self._operand(o, "sub")
        return _ops().Sub.apply(o, self) if isinstance(o, Tensor) else _ops().Add.apply(_ops().Neg.apply(self), o)

    def __mul__(self, o):
        return _ops().Mul.apply(self, self._operand(o, "mul"))

    def __rmul__(self, o):
        return _ops().Mul.apply(self._operand(o, "mul"), self)

    def __truediv__(self, o):
        return _ops().Div.apply(self, self._operand(o, "div"))

    def __rtruediv__(self, o):
        o = self._operand(o, "div")
        if isinstance(o, Tensor):
            return _ops().Div.apply(o, self)
        return _ops().Mul.apply(_ops().Pow.apply(self, -1), o)

    def __neg__(self):
        return _ops().Neg.apply(self)

    def __pow__(self, p):
        if not isinstance(p, (int, float)):
            raise TypeError(f"pow: exponent must be a Python number, got {type(p).__name__}")
        return _ops().Pow.apply(self, p)

    def __matmul__(self, o):
        return _ops().MatMul.apply(self, self._coerce(o, "matmul"))

    def __rmatmul__(self, o):
        return _ops().MatMul.apply(self._coerce(o, "matmul"), self)

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        return _ops().GetItem.apply(self, index)

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
        return _ops().Sum.apply(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        return _ops().Mean.apply(self, axis, keepdims)

    def reshape(self, *shape) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().Reshape.apply(self, shape)

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
        return _ops().Permute.apply(self, tuple(axes))

    def take(self, indices, axis: int = 0) -> "Tensor":
        """Gather entries at integer ``indices`` along ``axis`` (gradients of repeats add up)."""
        if isinstance(indices, Tensor):
            indices = indices.data
        return _ops().Take.apply(self, indices, axis)

    def exp(self) -> "Tensor":
        return _ops().Exp.apply(self)

    def log(self) -> "Tensor":
        return _ops().Log.apply(self)

    def tanh(self) -> "Tensor":
        return _ops().TanhFn.apply(self)

    def maximum(self, other) -> "Tensor":
        return maximum(self, other)

    def relu(self) -> "Tensor":
        return _ops().ReLUFn.apply(self)


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
    return _ops().Maximum.apply(a, a._operand(b, "maximum"))


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
    return _ops().Concat.apply(axis, *tensors)


__all__ = ["Context", "Function", "Tensor", "as_tensor", "concat", "data_of", "exp", "is_tensor", "log", "maximum",
           "run_backward", "tanh", "tensor"]
