"""``Function``: an operation with a forward and a hand-written backward, and the engine that runs
backward passes over the recorded graph.

Forward and backward work on raw backend arrays, not Tensors: a fused layer (Linear, BatchNorm,
softmax-cross-entropy) is one graph node whose backward is plain array code, so the engine adds one
Python call per node and nothing per elementwise operation. The node is the ``ctx`` object itself.
"""
from __future__ import annotations

from ..backend import mismatch
from .grad_mode import _state


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
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``.apply``.

    ``forward`` receives the raw arrays of Tensor arguments (other arguments as given) and returns an
    array or a tuple of arrays; ``backward`` receives one gradient array per output and returns one
    gradient (or ``None``) per ``forward`` argument. ``ctx.needs_input_grad[i]`` says whether
    argument *i* needs one.
    """

    @staticmethod
    def forward(ctx, *args):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        Tensor = _tensor_class[0]
        first = None
        raw = list(args)
        needs = [False] * len(args)
        record = False
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if first is None:
                    first = a
                elif a._xp is not first._xp or (a._xp is not _NUMPY[0] and a.data.device != first.data.device):
                    raise mismatch(cls.__name__, first.data, a.data)
                raw[i] = a.data
                if a.requires_grad:
                    needs[i] = record = True
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


_tensor_class: list = []  # filled by xpnet.tensor (import cycle)
_NUMPY: list = [None]  # the NumPy namespace: single-device, so device checks are skipped


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
    """Reverse-mode pass from ``tensor`` with output gradient ``grad``; leaf ``.grad`` accumulates."""
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
