"""Several layer Functions run as one graph node.

``ChainFn`` calls each stage's own ``forward``/``backward`` (the same code a layer uses alone) on
raw arrays, so a Linear → BatchNorm → activation → Dropout block costs one Module call, one graph
node and one engine step instead of four, with identical arithmetic and random draws.
"""
from __future__ import annotations

from ...autograd.function import Context, Function


class Stage:
    """One stage: its Function, its parameters (Tensors or None) and a callable that, given the
    stage's input array, checks it and returns the extra non-differentiable arguments."""

    __slots__ = ("fn", "params", "extra")

    def __init__(self, fn, params, extra):
        self.fn, self.params, self.extra = fn, params, extra


class ChainFn(Function):
    @staticmethod
    def forward(ctx, x, stages, *params):
        xp = ctx.xp
        needs = ctx.needs_input_grad
        subs = []
        i = 2
        x_needs = needs[0]
        for st in stages:
            k = len(st.params)
            p = params[i - 2:i - 2 + k]
            p_needs = needs[i:i + k]
            extra = st.extra(x)
            sub = Context(st.fn, xp)
            sub.needs_input_grad = (x_needs,) + tuple(p_needs) + (False,) * len(extra)
            x = st.fn.forward(sub, x, *p, *extra)
            subs.append((sub, k))
            x_needs = x_needs or any(p_needs)
            i += k
        ctx.subs = subs
        return x

    @staticmethod
    def backward(ctx, g):
        grads = []
        for sub, k in reversed(ctx.subs):
            out = sub.fn.backward(sub, g)
            if not isinstance(out, tuple):
                out = (out,)
            g = out[0]
            grads.append(out[1:1 + k])
        flat = [gr for chunk in reversed(grads) for gr in chunk]
        return (g, None, *flat)


def run_chain(x, stages):
    params = [p for st in stages for p in st.params]
    return ChainFn.apply(x, stages, *params)
