"""Every Tensor operation: float64 finite-difference gradcheck and forward parity with PyTorch,
on every namespace of the ``backend`` fixture."""
import numpy as np
import pytest

import xpnet as xn
from helpers import check_grads, close, host, rand, t, torch

UNARY = {
    "neg": (lambda a: -a, lambda a: -a),
    "exp": (lambda a: a.exp(), torch.exp),
    "tanh": (lambda a: a.tanh(), torch.tanh),
    "pow2": (lambda a: a**2, lambda a: a**2),
    "pow3": (lambda a: a**3, lambda a: a**3),
    "sum_all": (lambda a: a.sum(), lambda a: a.sum()),
    "sum_axis0": (lambda a: a.sum(axis=0), lambda a: a.sum(0)),
    "sum_keepdims": (lambda a: a.sum(axis=1, keepdims=True), lambda a: a.sum(1, keepdim=True)),
    "mean_all": (lambda a: a.mean(), lambda a: a.mean()),
    "mean_axis1": (lambda a: a.mean(axis=1), lambda a: a.mean(1)),
    "reshape": (lambda a: a.reshape(6, 2), lambda a: a.reshape(6, 2)),
    "transpose": (lambda a: a.T, lambda a: a.T),
    "getitem_slice": (lambda a: a[1:3, 0:3:2], lambda a: a[1:3, 0:3:2]),
    "getitem_int": (lambda a: a[2, :], lambda a: a[2, :]),
    "rsub": (lambda a: 2.0 - a, lambda a: 2.0 - a),
    "rdiv": (lambda a: 1.0 / (a * a + 1.0), lambda a: 1.0 / (a * a + 1.0)),
    "scalar_mul_add": (lambda a: 3.0 * a + 1.0, lambda a: 3.0 * a + 1.0),
}

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "maximum": (lambda a, b: xn.maximum(a, b), torch.maximum),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck_and_parity(backend, float64, name):
    ours, ref = UNARY[name]
    a = rand((4, 3), seed=1)
    check_grads(ours, a)
    close(ours(a), ref(t(a)), rtol=1e-12, atol=1e-12)


def test_log_gradcheck(backend, float64):
    a = xn.tensor(np.random.default_rng(2).uniform(0.5, 2.0, (3, 4)), requires_grad=True)
    check_grads(lambda x: x.log(), a)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4))], ids=["same", "row", "outer"])
def test_binary_broadcast_gradcheck(backend, float64, name, shapes):
    ours, ref = BINARY[name]
    a, b = rand(shapes[0], seed=3), rand(shapes[1], seed=4)
    check_grads(ours, a, b)
    close(ours(a, b), ref(t(a), t(b)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,))])
def test_matmul_gradcheck(backend, float64, shapes):
    a, b = rand(shapes[0], seed=5), rand(shapes[1], seed=6)
    check_grads(lambda x, y: x @ y, a, b)
    close(a @ b, t(a) @ t(b), rtol=1e-12, atol=1e-12)


def test_concat_gradcheck(backend, float64):
    a, b = rand((2, 3), seed=7), rand((4, 3), seed=8)
    check_grads(lambda x, y: xn.concat([x, y], axis=0), a, b)
    c, d = rand((2, 3), seed=9), rand((2, 2), seed=10)
    check_grads(lambda x, y: xn.concat([x, y], axis=1), c, d)


@pytest.mark.parametrize("axis", [0, 1])
def test_take_scatter_adds_repeats(backend, float64, xp, axis):
    a = rand((5, 5), seed=11)
    idx = xp.asarray([0, 2, 2, 4], device=backend.device)
    check_grads(lambda x: x.take(idx, axis=axis), a)
    a.grad = None
    a.take(idx, axis=axis).sum().backward()
    counts = host(a.grad)[:, 0] if axis == 0 else host(a.grad)[0, :]
    np.testing.assert_allclose(counts, [1, 0, 2, 0, 1])


def test_integer_array_indexing_rows(backend, float64, xp):
    if backend.name == "array_api_strict":
        pytest.skip("the standard allows integer-array indices only with integer indices on the other axes; use take")
    a = rand((5, 3), seed=11)
    idx = xp.asarray([0, 2, 2, 4], device=backend.device)
    check_grads(lambda x: x[idx], a)


def test_gradients_accumulate_and_no_grad(backend):
    a = xn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (a * a).sum().backward()
    (a * 2.0).sum().backward()
    np.testing.assert_allclose(host(a.grad), [4.0, 6.0, 8.0])
    with xn.no_grad():
        b = a * 3.0
    assert not b.requires_grad and b.is_leaf


def test_shared_subexpression_topological_order(backend, float64):
    # y = (a*b) used twice on paths of different length: wrong ordering would drop a term
    a, b = rand((3,), seed=12), rand((3,), seed=13)
    check_grads(lambda x, y: ((x * y).exp() * (x * y) + (x * y)).sum(), a, b)


def test_second_backward_without_retain_graph_raises(backend):
    a = xn.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_custom_function(backend, float64):
    class Cube(xn.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True,)
            return 3.0 * x * x * g

    check_grads(Cube.apply, rand((3, 2), seed=14))


def test_multi_output_function(backend, float64):
    class Split(xn.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0, x * x

        @staticmethod
        def backward(ctx, ga, gb):
            return 2.0 * ga + 2.0 * gb * ctx.saved_x

    class SplitSaving(Split):
        @staticmethod
        def forward(ctx, x):
            ctx.saved_x = x
            return x * 2.0, x * x

    a = rand((4,), seed=15)
    check_grads(lambda x: SplitSaving.apply(x), a)
    a.grad = None
    first, _ = SplitSaving.apply(a)  # only one output used: the other gets a zero gradient
    first.sum().backward()
    np.testing.assert_allclose(host(a.grad), 2.0)
