"""Fusion (xpnet/nn/fusion.py) never changes results: every fused run equals the same layers run one
by one (``xn.config_context(fuse=False)``) bitwise, in outputs, input and parameter gradients,
running statistics, counters and random draws; only the library's own classes are fused."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn
from xpnet.nn import fusion
from helpers import host


def _fused_nodes(out):
    """How many ChainFn nodes produced ``out`` (a walk over the recorded graph)."""
    seen, stack, n = set(), [out._node], 0
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        n += node.fn is fusion.ChainFn
        stack.extend(t._node for t in node.inputs if t is not None)
    return n


# -- only the library's own classes ------------------------------------------------------------------
class Scaled(nn.Linear):
    """A user's Linear whose forward differs from the library's."""

    def forward(self, input):
        return super().forward(input) * 100.0


class Renamed(nn.Linear):
    """A subclass that does not override forward: still never fused (its class is not the library's)."""


def _pair(make, x, seed=0):
    """(fused, unfused) outputs of the model ``make()`` builds, each from the same seed."""
    outs = []
    for fuse in (True, False):
        xn.manual_seed(seed)
        model = make()
        with xn.config_context(fuse=fuse):
            outs.append(host(model(x)))
    return outs


def test_subclass_overriding_forward_gives_the_unfused_answer(backend):
    """The issue's case: a Linear subclass with its own forward inside a Sequential is run as itself
    (before, the fused chain called LinearFn directly: 2.87 instead of 287.18)."""
    x = xn.asarray(np.linspace(-1, 1, 12).reshape(3, 4))
    make = lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), Scaled(5, 2), nn.Tanh())
    fused, plain = _pair(make, x)
    np.testing.assert_array_equal(fused, plain)
    xn.manual_seed(0)
    model = make()
    with xn.config_context(fuse=False):
        direct = host(nn.Tanh()(model[2](model[1](model[0](x)))))
    np.testing.assert_array_equal(fused, direct)  # the ×100 is applied
    assert not fusion.fusable(model[2]) and fusion.fusable(model[0])


def test_subclasses_and_own_forward_are_never_fused():
    lin = nn.Linear(3, 3)
    assert fusion.fusable(lin) and not fusion.fusable(Renamed(3, 3)) and not fusion.fusable(Scaled(3, 3))
    calls = []
    lin.forward = lambda x: calls.append(1) or nn.Linear.forward(lin, x)
    assert not fusion.fusable(lin)
    model = nn.Sequential(lin, nn.ReLU(), nn.Linear(3, 2))
    model(xn.asarray(np.ones((2, 3), "float32")))
    assert calls == [1]  # the instance's own forward ran inside the fused Sequential


def test_fusion_is_on_by_default_and_off_by_option():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = xn.tensor(np.ones((2, 3), "float32"), requires_grad=True)
    assert xn.get_config()["fuse"] is True
    assert _fused_nodes(model(x)) == 1
    with xn.config_context(fuse=False):
        assert _fused_nodes(model(x)) == 0
    assert _fused_nodes(Renamed(3, 3)(x)) == 0


# -- every fused/unfused pair is equal ------------------------------------------------------------------
LAYERS = {
    "linear": lambda: nn.Linear(6, 6),
    "linear-nobias": lambda: nn.Linear(6, 6, bias=False),
    "batchnorm": lambda: nn.BatchNorm1d(6),
    "batchnorm-noaffine": lambda: nn.BatchNorm1d(6, affine=False),
    "batchnorm-nostats": lambda: nn.BatchNorm1d(6, track_running_stats=False),
    "batchnorm-cumulative": lambda: nn.BatchNorm1d(6, momentum=None),
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "gelu-tanh": lambda: nn.GELU("tanh"),
    "dropout": lambda: nn.Dropout(0.4),
    "dropout-generator": lambda: nn.Dropout(0.4, generator=xn.Generator(7)),
    "dropout-all": lambda: nn.Dropout(1.0),
}


def _run(make, fuse, train, steps=2):
    """Outputs, gradients, buffers, counters and the next random draw of ``make()`` wrapped as
    Linear → layer → Linear, after ``steps`` forward/backward passes."""
    with xn.config_context(fuse=fuse):
        xn.manual_seed(3)
        model = nn.Sequential(nn.Linear(5, 6), make(), nn.Linear(6, 3))
        model.train(train)
        rows = np.random.default_rng(0).standard_normal((8, 5))
        got = []
        for step in range(steps):
            x = xn.tensor(rows * (step + 1), requires_grad=True)
            out = model(x)
            nn.functional.cross_entropy(out, xn.asarray(np.arange(8) % 3)).backward()
            got += [host(out), host(x.grad)] + [host(p.grad) for p in model.parameters()]
            if step == 0:
                assert _fused_nodes(out) == (1 if fuse else 0)  # the comparison is not vacuous
        got += [host(b) for b in model.buffers()]
        got.append(np.array([getattr(m, "num_batches_tracked", -1) for m in model]))
        got.append(host(xn.backend.random.uniform((4,))))  # the stream advanced by the same draws
    return got


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_fused_equals_unfused_bitwise(backend, kind, train):
    fused, plain = _run(LAYERS[kind], True, train), _run(LAYERS[kind], False, train)
    assert len(fused) == len(plain)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a, b)


def test_long_chain_equal_bitwise_including_no_grad(backend):
    """A whole W1-like block; then the same model under no_grad in training mode (batch statistics,
    running-statistics update counted once) and in eval mode without the BatchNorm fold."""
    def build():
        xn.manual_seed(5)
        return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.GELU(), nn.Dropout(0.3),
                             nn.Residual(nn.Sequential(nn.Linear(8, 8), nn.LeakyReLU(0.1), nn.Dropout(0.2))),
                             nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))

    x = xn.asarray(np.random.default_rng(0).standard_normal((10, 6)))
    res = {}
    for fuse in (True, False):
        with xn.config_context(fuse=fuse):
            model = build()
            xn.manual_seed(1)
            with xn.no_grad():
                a = host(model(x))
            b = [host(v) for v in model.buffers()] + [model[1].num_batches_tracked]
            model.eval()
            with xn.no_grad():
                c = host(model(xn.asarray(np.ones((1, 6)))))  # 1 row: too few to fold, runs stage by stage
            res[fuse] = [a, *b, c]
    for u, v in zip(res[True], res[False]):
        np.testing.assert_array_equal(u, v)
    assert res[True][-2] == 1


def test_inference_fold_matches_to_float32_rounding(backend):
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3, bias=False), nn.BatchNorm1d(3))
    x = xn.asarray(np.random.default_rng(1).standard_normal((40, 6)))
    for _ in range(3):
        model(x)
    model.eval()
    with xn.no_grad():
        folded = host(model(x))
        with xn.config_context(fuse=False):
            plain = host(model(x))
    np.testing.assert_allclose(folded, plain, rtol=1e-5, atol=1e-5)


# -- the plan follows every change ----------------------------------------------------------------------
def test_plan_follows_attribute_changes(backend):
    """Changing p, the slope, the approximation, momentum, training or a Parameter after a first
    (cached) fused pass takes effect exactly as without fusion."""
    changes = [
        (1, "p", 0.5), (2, "negative_slope", 0.3), (3, "approximate", "tanh"), (0, "bias", None),
    ]

    def run(fuse):
        with xn.config_context(fuse=fuse):
            xn.manual_seed(2)
            model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.0), nn.LeakyReLU(0.01), nn.GELU(), nn.Linear(4, 2))
            x = xn.asarray(np.random.default_rng(4).standard_normal((6, 4)))
            outs = [host(model(x))]
            for i, name, value in changes:
                setattr(model[i], name, value)
                outs.append(host(model(x)))
            model[4].weight = nn.Parameter(xn.asarray(np.full((2, 4), 0.5)))
            outs.append(host(model(x)))
            model[1].eval()
            outs.append(host(model(x)))
            return outs

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)


def test_errors_are_the_functional_ops_errors():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    for fuse in (True, False):
        with xn.config_context(fuse=fuse):
            with pytest.raises(ValueError, match=r"input has 5 features \(shape \(2, 5\)\), expected 4"):
                model(xn.asarray(np.ones((2, 5), "float32")))
            with pytest.raises(TypeError, match="dtype"):
                model(xn.asarray(np.ones((2, 4)), dtype="float64"))
    bn = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    for fuse in (True, False):
        with xn.config_context(fuse=fuse), pytest.raises(ValueError, match="more than one value per channel"):
            bn(xn.asarray(np.ones((1, 4), "float32")))
    drop = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    drop[1].p = 2.0
    for fuse in (True, False):
        with xn.config_context(fuse=fuse), pytest.raises(ValueError, match=r"p \(dropout probability\).*2\.0"):
            drop(xn.asarray(np.ones((2, 4), "float32")))


def test_the_plan_is_not_part_of_the_state():
    """The cached plan holds closures over these very layers: copies (``__getstate__``) leave it out
    and build their own."""
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1), nn.Linear(4, 2))
    model(xn.asarray(np.ones((2, 3), "float32")))
    assert "_fusion_plan" in model.__dict__ and "_fusion_plan" not in model.__getstate__()
    assert "_layers" in model.__getstate__()


def test_summary_traces_every_layer_of_a_fused_sequential():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    text = model.summary((5, 3))
    assert "(N, 4)" in text and "(N, 2)" in text
    assert all("forward" not in m.__dict__ for m in model.modules())  # the tracing forwards are gone
    assert _fused_nodes(model(xn.tensor(np.ones((2, 3), "float32"), requires_grad=True))) == 1
