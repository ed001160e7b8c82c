"""Runtime scalars: the Python numbers of the optimiser (learning rate, betas, step count...) become
:class:`Sym` values while a step is traced, so that the trace keeps *how* a scalar handed to the array
code was computed (``lr / (1 − β₁ᵗ)``), not its value at trace time; a replay evaluates the same
expression from the current values (a scheduler's new ``lr``, the next ``t``). This is what
``torch.compile`` calls a dynamic scalar input and JAX a traced scalar argument.

A ``Sym`` is a ``float`` (or ``int``) subclass, so any code that checks ``isinstance(v, float)`` keeps
working. Comparisons and ``bool()`` become *guards* (re-checked before each replay: a change re-traces);
``float()``/``int()``/printing are host reads of the value and guard it to be equal. ``math``'s
scalar functions are made Sym-aware while a trace runs (:func:`patch_math`), so ``math.sqrt(1 − β₂ᵗ)``
stays an expression.
"""
from __future__ import annotations

import math
import types
import operator


def _value(x):
    return x._value() if isinstance(x, Sym) else x


def _expr(x):
    return x._sx if isinstance(x, Sym) else ("const", x)


def evaluate(expr, slots):
    """The value of expression ``expr`` with input Sym ``i`` = ``slots[i]`` (used to build code; see
    :func:`render`)."""
    kind = expr[0]
    if kind == "const":
        return expr[1]
    if kind == "slot":
        return slots[expr[1]]
    if kind == "call":
        return expr[1](*[evaluate(a, slots) for a in expr[2]])
    raise ValueError(f"unknown scalar expression {kind!r}")


def render(expr, names, slot_name):
    """Python source of ``expr``; functions and odd constants go into ``names`` (a dict name→object)."""
    kind = expr[0]
    if kind == "const":
        v = expr[1]
        if type(v) in (int, bool) or (type(v) is float and math.isfinite(v)):
            return repr(v)
        key = f"_c{len(names)}"
        names[key] = v
        return key
    if kind == "slot":
        return slot_name(expr[1])
    if kind == "read":
        conv = {bool: "bool", int: "int", float: "float"}[expr[2]]
        return f"{conv}(v{expr[1]})"
    if kind == "fncall":
        from .plan import render as render_tpl

        key = f"_h{len(names)}"
        names[key] = expr[1]
        args = ", ".join([render_tpl(a, names) for a in expr[2]] +
                         [f"{k}={render_tpl(v, names)}" for k, v in expr[3].items()])
        return f"{key}({args})" + ("" if expr[4] is None else f"[{expr[4]}]")
    if kind == "call":
        f = expr[1]
        key = _FN_NAMES.get(f)
        if key is None:
            key = f"_f{len(names)}"
            names[key] = f
        else:
            names[key] = f
        return f"{key}({', '.join(render(a, names, slot_name) for a in expr[2])})"
    raise ValueError(kind)


_FN_NAMES = {}


class Sym:
    """Mixin of :class:`SymFloat` / :class:`SymInt`: ``_sx`` is the expression, ``_trace`` the trace
    that records guards."""

    def _value(self):
        return self._raw(self)

    def _guard(self, what, result):
        t = self._tr
        if t is not None:
            t.sym_guards.append((self._sx, what, result))
        return result


def _make(value, expr, trace):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        s = SymInt(value)
    elif isinstance(value, float):
        s = SymFloat(value)
    else:
        return value
    s._sx, s._tr = expr, trace
    return s


def make_input(value, slot, trace):
    """The Sym standing for input scalar ``slot``."""
    return _make(value, ("slot", slot), trace)


def read_sym(trace, var, conv, value):
    """The Sym for ``conv(array var)`` (a host read of a host-memory array)."""
    return _make(value, ("read", var, conv), trace)


def guard_read(trace, var, value, conv=bool):
    """``conv(array var)`` (``bool``, ``int``, ``float``): the value, guarded to stay the same."""
    trace.sym_guards.append((("read", var, conv), "==", value))
    return value


def call_sym(trace, fn, targs, tkw, index, value):
    """The Sym for ``fn(*args)[index]`` (a backend function reading host scalars from arrays)."""
    return _make(value, ("fncall", fn, targs, tkw, index), trace)


def read_vars(expr, out=None):
    """Variables whose host value an expression reads."""
    out = [] if out is None else out
    if expr[0] == "read":
        out.append(expr[1])
    elif expr[0] == "fncall":
        from .plan import _refs

        _refs(expr[2], out)
        _refs(expr[3], out)
    elif expr[0] == "call":
        for a in expr[2]:
            read_vars(a, out)
    return out


def _trace_of(*xs):
    for x in xs:
        if isinstance(x, Sym):
            return x._tr
    return None


def _binary(fn):
    def op(self, other):
        if not isinstance(other, (int, float)):
            return NotImplemented
        return _make(fn(_value(self), _value(other)), ("call", fn, (_expr(self), _expr(other))), _trace_of(self, other))

    def rop(self, other):
        if not isinstance(other, (int, float)):
            return NotImplemented
        return _make(fn(_value(other), _value(self)), ("call", fn, (_expr(other), _expr(self))), _trace_of(self, other))

    return op, rop


def _compare(fn):
    def op(self, other):
        if not isinstance(other, (int, float)):
            return NotImplemented
        r = fn(_value(self), _value(other))
        t = _trace_of(self, other)
        if t is not None:
            t.sym_guards.append((("call", fn, (_expr(self), _expr(other))), "==", r))
        return r

    return op


def _unary(fn):
    def op(self):
        return _make(fn(_value(self)), ("call", fn, (_expr(self),)), self._tr)

    return op


def _host(conv, what):
    def op(self, *a):
        v = self._value()
        t = self._tr
        if t is not None:
            t.sym_guards.append((self._sx, "==", v))
        return conv(v, *a)

    return op


def _install(cls, base):
    cls._base = staticmethod(base)
    cls._raw = staticmethod(base.__float__ if base is float else base.__int__)
    for name, fn in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul), ("truediv", operator.truediv),
                     ("floordiv", operator.floordiv), ("mod", operator.mod), ("pow", operator.pow)):
        op, rop = _binary(fn)
        setattr(cls, f"__{name}__", op)
        setattr(cls, f"__r{name}__", rop)
        _FN_NAMES[fn] = f"_op_{name}"
    for name, fn in (("lt", operator.lt), ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge),
                     ("eq", operator.eq), ("ne", operator.ne)):
        setattr(cls, f"__{name}__", _compare(fn))
        _FN_NAMES[fn] = f"_op_{name}"
    for name, fn in (("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs)):
        setattr(cls, f"__{name}__", _unary(fn))
        _FN_NAMES[fn] = f"_op_{name}"
    cls.__bool__ = lambda self: self._guard(self._sx, bool(self._value())) if False else _bool(self)
    cls.__float__ = _host(float, "float()")
    cls.__int__ = _host(int, "int()")
    cls.__index__ = _host(int, "index")
    cls.__round__ = _host(round, "round()")
    cls.__repr__ = _host(repr, "repr()")
    cls.__str__ = _host(str, "str()")
    cls.__format__ = _host(format, "format()")
    cls.__hash__ = lambda self: hash(self._value())
    cls.__reduce__ = lambda self: (base, (self._value(),))
    cls.__copy__ = lambda self: base(self._value())
    cls.__deepcopy__ = lambda self, memo: base(self._value())


def _bool(self):
    r = bool(self._value())
    t = self._tr
    if t is not None:
        t.sym_guards.append((("call", bool, (self._sx,)), "==", r))
    return r


class SymFloat(Sym, float):
    __slots__ = ("_sx", "_tr")


class SymInt(Sym, int):
    pass  # int subclasses cannot have __slots__: _sx and _tr live in __dict__


_install(SymFloat, float)
_install(SymInt, int)
_FN_NAMES[bool] = "bool"


# --------------------------------------------------------------------------------------------
_MATH = ("sqrt", "exp", "log", "log1p", "expm1", "pow", "cos", "sin", "tan", "tanh", "fabs", "floor", "ceil",
         "log2", "log10", "atan", "acos", "asin", "cosh", "sinh", "isfinite", "isnan", "isinf", "copysign")


def _math_wrapper(name, fn):
    def f(*args):
        if any(isinstance(a, Sym) for a in args):
            v = fn(*[_value(a) for a in args])
            e = ("call", fn, tuple(_expr(a) for a in args))
            if isinstance(v, bool):
                t = _trace_of(*args)
                if t is not None:
                    t.sym_guards.append((e, "==", v))
                return v
            return _make(v, e, _trace_of(*args))
        return fn(*args)

    f.__name__ = name
    return f


# math's own functions, taken at import (before any trace patches them)
_REAL_MATH = types.MappingProxyType({n: getattr(math, n) for n in _MATH if hasattr(math, n)})


def patch_math():
    """Make ``math``'s scalar functions Sym-aware; returns the function that undoes it."""
    saved = {n: getattr(math, n) for n in _MATH if hasattr(math, n)}
    wrapped = {n: _math_wrapper(n, fn) for n, fn in saved.items()}
    for n, fn in saved.items():
        setattr(math, n, wrapped[n])
        _FN_NAMES.setdefault(fn, f"_math_{n}")

    def undo():
        for n, fn in saved.items():
            setattr(math, n, fn)

    return undo


class real_math:
    """Context: ``math``'s own functions back while an opaque call runs on real values inside a trace.
    A kernel compiler (numba) that compiles on that call resolves ``math.exp`` in its source, and loads
    its typing registries keyed by the ``math`` functions, on the first compile: it must see the real
    ones, or the compile fails (or registers the wrapper)."""

    def __enter__(self):
        self.patched = {n: getattr(math, n) for n in _REAL_MATH}
        for n, fn in _REAL_MATH.items():
            setattr(math, n, fn)

    def __exit__(self, *exc):
        for n, fn in self.patched.items():
            setattr(math, n, fn)
        return False
