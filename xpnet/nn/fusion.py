"""Layer fusion: ``Sequential`` runs a run of consecutive library layers as ONE graph node.

A Linear → BatchNorm1d → activation → Dropout block then costs one Module call, one graph node and
one engine step instead of four, with the same arithmetic (each stage calls the very ``forward`` /
``backward`` of the Function its layer's functional op uses, in the same order) and the same random
draws. This file is the only place that knows about fusion:

* which layers may be fused: instances whose ``type`` is *exactly* one of the library classes in
  :func:`_stages` (a user's subclass, even one that does not override ``forward``, and an instance
  with its own ``forward`` attribute are never fused: they run as themselves);
* how each such layer is staged: its Function, its parameters, and a callable that, given the
  stage's input array, checks it exactly as the functional op does and returns the extra arguments
  (read at call time, so changing ``p``, ``momentum``, ``training``... takes effect at once);
* the plan cache, kept on the ``Sequential`` and rebuilt whenever the container or any direct child
  changed (each Module counts its attribute assignments in ``_version``);
* the inference shortcut folding an eval-mode BatchNorm into the preceding Linear.

It is on by default and off with ``xn.config_context(fuse=False)`` (or ``xn.set_config(fuse=False)``):
then every layer runs alone. The two paths are tested equal (``tests/test_fusion.py``).

>>> import xpnet as xn
>>> model = xn.nn.Sequential(xn.nn.Linear(3, 4), xn.nn.ReLU(), xn.nn.Linear(4, 2))
>>> x = xn.tensor([[1.0, 2.0, 3.0]])
>>> with xn.config_context(fuse=False):
...     plain = xn.to_numpy(model(x))
>>> bool((xn.to_numpy(model(x)) == plain).all())
True
"""
from __future__ import annotations

import functools

from ..autograd.engine import Context, Function
from ..autograd.ops_activation import GELUFn, LeakyReLUFn, ReLUFn, SigmoidFn, TanhFn
from .functional.activation import check_approximate, check_slope
from .functional.dropout import DropoutFn, dropout_scale
from .functional.linear import LinearFn, affine_forward, check_linear_input
from .functional.normalization import BatchNormFn, batch_norm_args


class Stage:
    """One stage: its Function, its parameters (Tensors or None) and ``extra(x)``, which checks the
    stage's input array and returns the remaining (non-differentiable) arguments of the Function, or
    None when the stage is the identity this time (Dropout in eval or with p = 0)."""

    __slots__ = ("fn", "params", "extra", "layer")

    def __init__(self, fn, params, extra, layer=None):
        self.fn, self.params, self.extra, self.layer = fn, params, extra, layer


def _no_args(data):
    return ()


# -- how each library layer is staged (the same checks and arguments as its functional op) ----------
def _linear(layer):
    def extra(data):
        check_linear_input(data, layer.weight.data)
        return ()

    return Stage(LinearFn, (layer.weight, layer.bias), extra)


def _batch_norm(layer):
    def extra(data):
        layer._check_input_dim(data.shape)
        w = layer.weight
        return batch_norm_args(data.shape, layer.running_mean, layer.running_var, None if w is None else w.data,
                               layer.training, layer._momentum(), layer.eps)

    return Stage(BatchNormFn, (layer.weight, layer.bias), extra, layer)


def _leaky_relu(layer):
    return Stage(LeakyReLUFn, (), lambda data: (check_slope("leaky_relu", layer.negative_slope),))


def _gelu(layer):
    return Stage(GELUFn, (), lambda data: (check_approximate("gelu", layer.approximate),))


def _dropout(layer):
    def extra(data):
        scale = dropout_scale(data, layer.p, layer.training, layer.generator)
        return None if scale is None else (scale,)

    return Stage(DropoutFn, (), extra)


@functools.cache
def _stages():
    """The fusable library classes and how to stage each. (Imported on first use: ``Sequential``
    imports this file, and the layer classes live in the same package.)"""
    from .modules.activation import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
    from .modules.dropout import Dropout
    from .modules.linear import Linear
    from .modules.normalization import BatchNorm1d

    return {
        Linear: _linear,
        BatchNorm1d: _batch_norm,
        ReLU: lambda layer: Stage(ReLUFn, (), _no_args),
        LeakyReLU: _leaky_relu,
        Sigmoid: lambda layer: Stage(SigmoidFn, (), _no_args),
        Tanh: lambda layer: Stage(TanhFn, (), _no_args),
        GELU: _gelu,
        Dropout: _dropout,
    }


def fusable(layer) -> bool:
    """True for an instance of exactly one of the library's fusable classes, with the class's own
    ``forward`` (subclasses and instances given their own ``forward`` are never fused)."""
    return type(layer) in _stages() and "forward" not in layer.__dict__


# -- the plan ---------------------------------------------------------------------------------------
def _plan(layers):
    """Steps for ``layers``: a layer that runs alone, or (stages, flat parameters) for a run of two
    or more fusable layers."""
    steps, run = [], []

    def close():
        if len(run) == 1:
            steps.append(run[0])
        elif run:
            stages = [_stages()[type(layer)](layer) for layer in run]
            steps.append((stages, [p for st in stages for p in st.params]))
        run.clear()

    for layer in layers:
        if fusable(layer):
            run.append(layer)
        else:
            close()
            steps.append(layer)
    close()
    return steps


def run_sequential(seq, x):
    """``seq``'s layers applied to ``x`` with fusable runs as one :class:`ChainFn` node each. The plan
    is cached on ``seq`` and rebuilt when ``seq`` or one of its layers had an attribute assigned."""
    layers = seq._layers
    key = (seq.__dict__.get("_version"), *[m.__dict__.get("_version") for m in layers])
    cached = seq.__dict__.get("_fusion_plan")
    if cached is None or cached[0] != key:
        cached = (key, _plan(layers))
        seq.__dict__["_fusion_plan"] = cached
    for step in cached[1]:
        if type(step) is tuple:
            x = ChainFn.apply(x, step[0], *step[1])
        else:
            x = step(x)
    return x


# -- the fused node ---------------------------------------------------------------------------------
class ChainFn(Function):
    """Several stages as one graph node: forward runs each stage's Function ``forward`` in order on
    raw arrays, backward each stage's ``backward`` in reverse order."""

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
            i += k
            extra = st.extra(x)
            if extra is None:  # the identity this time
                subs.append((None, k))
                continue
            sub = Context(st.fn, xp)
            sub.needs_input_grad = (x_needs,) + tuple(p_needs) + (False,) * len(extra)
            x = st.fn.forward(sub, x, *p, *extra)
            subs.append((sub, k))
            x_needs = x_needs or any(p_needs)
        ctx.subs = subs
        return x

    @staticmethod
    def backward(ctx, g):
        grads = []
        for sub, k in reversed(ctx.subs):
            if sub is None:
                grads.append((None,) * k)
                continue
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
    for the fold (out × in) to cost less than the BatchNorm passes it saves (4 × rows × out); equal to
    the unfused result to float rounding, not bitwise."""
    i, k = 0, 0
    n = len(stages)
    while i < n:
        st = stages[i]
        p = params[k:k + len(st.params)]
        extra = st.extra(x)
        nxt = stages[i + 1] if i + 1 < n else None
        if (st.fn is LinearFn and nxt is not None and nxt.fn is BatchNormFn and x.ndim == 2
                and p[0].ndim == 2 and p[0].shape[1] < 4 * x.shape[0]
                and not nxt.layer.training and nxt.layer.running_mean is not None):
            bn_p = params[k + len(st.params):k + len(st.params) + 2]
            rm, rv, training, _, eps = nxt.extra(_Shape((x.shape[0], p[0].shape[0])))
            if not training:  # (always: eval mode with running statistics)
                w, b = p
                scale = 1.0 / xp.sqrt(rv + eps)
                if bn_p[0] is not None:
                    scale = scale * bn_p[0]
                shift = (-rm if b is None else b - rm) * scale
                if bn_p[1] is not None:
                    shift = shift + bn_p[1]
                x = affine_forward(xp, x, w * xp.expand_dims(scale, axis=1), shift)
                i += 2
                k += len(st.params) + len(nxt.params)
                continue
        if extra is not None:
            x = st.fn.forward(_scratch(st.fn, xp, len(p) + len(extra)), x, *p, *extra)
        i += 1
        k += len(st.params)
    return x


class _Shape:
    """Stand-in input for a BatchNorm stage's argument check: only ``shape`` is read."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape


def _scratch(fn, xp, n_args):
    c = Context(fn, xp)
    c.needs_input_grad = (False,) * (n_args + 1)
    return c


__all__ = ["ChainFn", "Stage", "fusable", "run_sequential"]
