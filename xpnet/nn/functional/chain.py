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
        if not any(needs):
            return _inference(xp, x, stages, params)
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
            if g is None:  # nothing before this stage needs a gradient (leading parameter-free stages)
                grads.append((None,) * k)
                continue
            out = sub.fn.backward(sub, g)
            if not isinstance(out, tuple):
                out = (out,)
            g = out[0]
            grads.append(out[1:1 + k])
        flat = [gr for chunk in reversed(grads) for gr in chunk]
        return (g, None, *flat)


def _inference(xp, x, stages, params):
    """Forward without a graph. A Linear followed by an eval-mode BatchNorm is folded into one affine
    map (W' = diag(s)W, b' = s(b − μ_r) + β, s = γ/√(σ_r² + ε)) when the batch is large enough
    for the fold (out × in) to cost less than the BatchNorm passes it saves (4 × rows × out)."""
    from .linear import LinearFn
    from .normalization import BatchNormFn

    i, k = 0, 0
    n = len(stages)
    while i < n:
        st = stages[i]
        p = params[k:k + len(st.params)]
        extra = st.extra(x)
        nxt = stages[i + 1] if i + 1 < n else None
        if (st.fn is LinearFn and nxt is not None and nxt.fn is BatchNormFn and x.ndim == 2
                and p[0].ndim == 2 and p[0].shape[1] < 4 * x.shape[0]):
            bn_p = params[k + len(st.params):k + len(st.params) + 2]
            rm, rv, training, _, eps = _bn_args(nxt, p[0].shape[0], x.shape[0])
            if not training:
                w, b = p
                scale = 1.0 / xp.sqrt(rv + eps)
                if bn_p[0] is not None:
                    scale = scale * bn_p[0]
                shift = (-rm if b is None else b - rm) * scale
                if bn_p[1] is not None:
                    shift = shift + bn_p[1]
                x = x @ (w * xp.expand_dims(scale, axis=1)).T
                x += shift
                i += 2
                k += len(st.params) + len(nxt.params)
                continue
        x = st.fn.forward(_scratch(st.fn, xp, len(p) + len(extra)), x, *p, *extra)
        i += 1
        k += len(st.params)
    return x


class _Shape:
    """Stand-in input for a BatchNorm stage's argument check: only ``shape`` is read."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape


def _bn_args(stage, width, rows):
    return stage.extra(_Shape((rows, width)))


def _scratch(fn, xp, n_args):
    c = Context(fn, xp)
    c.needs_input_grad = (False,) * (n_args + 1)
    return c
