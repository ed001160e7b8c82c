# purity: host -- the NumPy target: result buffers for replays of plans whose arrays are NumPy's
"""Preallocated result buffers for a replay on NumPy.

Every replay of a plan makes the same arrays with the same shapes (the guards hold them), so a result
that never leaves the replay can be written into the same memory each time instead of a fresh array:
``np.matmul(a, b, out=B[3])`` for ``a @ b``, ``np.add(a, b, out=B[4])`` for ``a + b``, ``np.exp(x,
out=B[5])``. A fresh array costs an allocation and, from the kernel, the first touch of every page
(for the multi-megabyte activations of a wide layer it is mapped, and zeroed, anew on each call): a 4 MB
``a + 1`` runs in 0.3 ms fresh and 0.08 ms into a reused buffer on this machine kind. ``out=`` gives
NumPy's own result bit for bit (the same loop, the same BLAS call).

A result gets a buffer when it is an ``ndarray`` of at least one dimension made by a NumPy ufunc, an
arithmetic/matmul operator or a kernel that takes ``out=`` (marked ``writes_out``: the numba GELU, the
fused groups), and nothing read after the replay (outputs, write-backs, guards) is it or a
view of it: those escape to the caller and must stay fresh. Each thread has its own set of buffers
(made on its first replay), so one compiled function called from several threads never shares one.
"""
from __future__ import annotations

import threading

import numpy as np

from .tracer import Op, Ref

# operator methods the replay writes as ``ufunc(a, b)``; the reflected ones swap their operands
_UFUNC_OF = {"__add__": np.add, "__sub__": np.subtract, "__mul__": np.multiply, "__truediv__": np.true_divide,
             "__matmul__": np.matmul, "__neg__": np.negative, "__lt__": np.less,
             "__le__": np.less_equal, "__gt__": np.greater, "__ge__": np.greater_equal, "__eq__": np.equal,
             "__ne__": np.not_equal}
_REFLECTED = {"__radd__": np.add, "__rsub__": np.subtract, "__rmul__": np.multiply,
              "__rtruediv__": np.true_divide, "__rmatmul__": np.matmul}
# not ``**``: NumPy's operator takes fast paths for some exponents (``x ** 2`` is ``square``, ``x ** 0.5``
# ``sqrt``) that ``np.power`` does not, so their last bits could differ


class Slot:
    """``out=`` argument of a rewritten op: buffer ``index`` of the calling thread (renders ``B[index]``)."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class Buffers:
    """The buffer specs of one plan and each thread's buffers: ``get()`` returns the calling thread's
    list, made on its first call."""

    def __init__(self, specs):
        self.specs = specs  # [(shape, dtype, order)]
        self._local = threading.local()

    def get(self):
        b = getattr(self._local, "b", None)
        if b is None:
            b = self._local.b = [np.empty(shape, dtype, order=order) for shape, dtype, order in self.specs]
        return b

    @property
    def nbytes(self):
        return sum(int(np.prod(s)) * np.dtype(d).itemsize for s, d, _ in self.specs)


def _escaping(ops, live, real_of):
    """Variables that are live or that a live variable is a view of (transitively)."""
    esc = set(live)
    changed = True
    while changed:  # a view's base escapes with it: walk the ops backwards until nothing changes
        changed = False
        for op in reversed(ops):
            if not any(o in esc for o in op.outs):
                continue
            for a in _refs(op.args) + _refs(op.kwargs):
                if a in esc:
                    continue
                ra, ro = real_of.get(a), [real_of.get(o) for o in op.outs if o in esc]
                if isinstance(ra, np.ndarray) and any(isinstance(r, np.ndarray) and np.shares_memory(r, ra)
                                                      for r in ro):
                    esc.add(a)
                    changed = True
    return esc


def _refs(obj):
    out = []
    if type(obj) is Ref:
        out.append(obj.n)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            out += _refs(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            out += _refs(o)
    return out


def _rewrite(op):
    """(function, positional args) the op computes, or None if it is not one we write with ``out=``:
    NumPy ufuncs and operators, and backend kernels marked ``writes_out`` (one array per output)."""
    if not op.outs or op.inplace in op.outs:
        return None
    if op.kind == "call" and getattr(op.fn, "writes_out", False) and "out" not in op.kwargs:
        return op.fn, tuple(op.args)  # a fused group may also write a target in place: out= is its new outputs
    if op.inplace is not None:
        return None
    if op.multi or len(op.outs) != 1:
        return None
    if op.kind == "method" and not op.kwargs:
        if op.fn in _UFUNC_OF and len(op.args) == (1 if op.fn == "__neg__" else 2):
            return _UFUNC_OF[op.fn], tuple(op.args)
        if op.fn in _REFLECTED and len(op.args) == 2:
            return _REFLECTED[op.fn], (op.args[1], op.args[0])
        return None
    if op.kind == "call" and isinstance(op.fn, np.ufunc) and not op.kwargs and op.fn.nout == 1:
        return op.fn, tuple(op.args)
    return None


def preallocate(plan, trace) -> int:
    """Rewrite ``plan.ops`` so that results that stay inside the replay are written into per-thread
    buffers (``plan.buffers``); returns how many. NumPy arrays only: other namespaces are unchanged."""
    real_of = trace.real_of
    if not any(isinstance(real_of.get(n), np.ndarray) for n in trace.inputs):
        return 0
    esc = _escaping(plan.ops, plan.live, real_of)
    specs, new_ops = [], []
    for op in plan.ops:
        r = _rewrite(op)
        reals = [real_of.get(v) for v in op.outs]
        if (r is None or any(v in esc for v in op.outs)
                or not all(type(a) is np.ndarray and a.ndim > 0 and (a.flags.c_contiguous or a.flags.f_contiguous)
                           for a in reals)):
            new_ops.append(op)
            continue
        fn, args = r
        slots = []
        for a in reals:
            specs.append((a.shape, a.dtype, "C" if a.flags.c_contiguous else "F"))
            slots.append(Slot(len(specs) - 1))
        kwargs = dict(op.kwargs, out=tuple(slots) if op.multi else slots[0])
        new_ops.append(Op("call", fn, args, kwargs, op.outs, inplace=op.inplace, multi=op.multi))
    if specs:
        plan.ops = new_ops
        plan.buffers = Buffers(specs)
    return len(specs)
