"""Layers and losses: float64 gradcheck (train and eval) and PyTorch parity, on every namespace."""
import math

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn
from xpnet.nn import functional as F
from helpers import check_grads, close, eps_tol, host, rand, t, torch

TF = torch.nn.functional

ACTIVATIONS = {
    "relu": (F.relu, TF.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "softmax": (lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1)),
    "softmax_dim0": (lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0)),
    "log_softmax": (lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(backend, float64, name):
    ours, ref = ACTIVATIONS[name]
    x = rand((5, 4), seed=1, scale=2.0)
    check_grads(ours, x)
    close(ours(x), ref(t(x)), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_float32_parity_and_grad(backend, name):
    ours, ref = ACTIVATIONS[name]
    x = rand((64, 10), seed=2, dtype="float32", scale=3.0)
    tx = t(x, requires_grad=True)
    y, ty = ours(x), ref(tx)
    close(y, ty, **eps_tol("float32", 64, scale=3.0))
    g = np.random.default_rng(3).standard_normal(y.shape).astype("float32")
    y.backward(xn.asarray(g))
    ty.backward(torch.tensor(g))
    close(x.grad, tx.grad, **eps_tol("float32", 64, scale=3.0))


@pytest.mark.parametrize("name", ["sigmoid", "softmax", "log_softmax", "gelu", "tanh"])
def test_no_overflow_at_1e4_float32(backend, name):
    ours, ref = ACTIVATIONS[name]
    x = xn.tensor(np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype="float32"), requires_grad=True)
    y = ours(x)
    y.sum().backward()
    assert np.all(np.isfinite(host(y))) and np.all(np.isfinite(host(x.grad)))
    close(y, ref(t(x)), **eps_tol("float32", 8))


def test_gelu_exact_erf_accuracy_float32(backend):
    x = np.linspace(-8, 8, 4001).astype("float32")
    ours = host(F.gelu(xn.tensor(x)))
    ref = TF.gelu(torch.tensor(x, dtype=torch.float64)).numpy()
    # a few ulps of the output, whose magnitude reaches 8
    assert np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1.0)) < 8 * np.finfo(np.float32).eps


def test_erf_array_api_fallback_accuracy(backend, xp):
    from scipy.special import erf as ref

    from xpnet.backend.special import erf_array_api

    x64 = np.linspace(-6, 6, 2001)
    got64 = host(erf_array_api(xp, xn.asarray(x64, dtype="float64")))
    assert np.max(np.abs(got64 - ref(x64))) < 1e-12
    got32 = host(erf_array_api(xp, xn.asarray(x64, dtype="float32")))
    assert np.max(np.abs(got32 - ref(x64.astype("float32")))) < 3 * np.finfo(np.float32).eps


@pytest.mark.parametrize("shape", [(8, 5), (6, 3, 4)], ids=["NC", "NCL"])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_gradcheck_train_and_eval(backend, float64, shape, affine):
    bn = nn.BatchNorm1d(shape[1], affine=affine)
    x = rand(shape, seed=4)
    params = [bn.weight, bn.bias] if affine else []
    if affine:
        bn.weight.data[...] = xn.asarray(np.linspace(0.5, 1.5, shape[1]), dtype="float64")
    check_grads(lambda x, *p: bn(x), x, *params)
    bn.running_var[...] = xn.asarray(np.linspace(0.5, 2.0, shape[1]), dtype="float64")
    bn.eval()
    check_grads(lambda x, *p: bn(x), x, *params)


@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_batchnorm_parity_running_stats(backend, momentum):
    bn = nn.BatchNorm1d(6, momentum=momentum)
    tbn = torch.nn.BatchNorm1d(6, momentum=momentum)
    for step in range(3):
        x = rand((16, 6), seed=10 + step, dtype="float32", scale=2.0)
        tx = t(x, requires_grad=True)
        y, ty = bn(x), tbn(tx)
        close(y, ty)
        g = np.random.default_rng(step).standard_normal((16, 6)).astype("float32")
        y.backward(xn.asarray(g))
        ty.backward(torch.tensor(g))
        close(x.grad, tx.grad)
    close(bn.running_mean, tbn.running_mean)
    close(bn.running_var, tbn.running_var)
    close(bn.weight.grad, tbn.weight.grad)
    close(bn.bias.grad, tbn.bias.grad)
    bn.eval()
    tbn.eval()
    x = rand((4, 6), seed=20, dtype="float32")
    close(bn(x), tbn(t(x)))


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval(backend):
    bn = nn.BatchNorm1d(3, track_running_stats=False)
    tbn = torch.nn.BatchNorm1d(3, track_running_stats=False)
    bn.eval()
    tbn.eval()
    x = rand((5, 3), seed=21, dtype="float32")
    close(bn(x), tbn(t(x)))
    assert bn.buffers() == []


@pytest.mark.parametrize("shape,norm", [((4, 6), 6), ((3, 4, 5), (4, 5))])
def test_layernorm_gradcheck_and_parity(backend, float64, shape, norm):
    ln = nn.LayerNorm(norm)
    ns = (norm,) if isinstance(norm, int) else norm
    ln.weight.data[...] = xn.asarray(np.linspace(0.5, 1.5, math.prod(ns)).reshape(ns), dtype="float64")
    x = rand(shape, seed=5)
    check_grads(lambda x, w, b: ln(x), x, ln.weight, ln.bias)
    tln = torch.nn.LayerNorm(ns, dtype=torch.float64)
    with torch.no_grad():
        tln.weight.copy_(t(ln.weight))
    close(ln(x), tln(t(x)), rtol=1e-10, atol=1e-10)


def test_dropout_gradcheck_with_fixed_mask(backend, float64):
    x = rand((6, 5), seed=6)
    mask = F.dropout_mask(x, 0.3)
    check_grads(lambda x: F.dropout(x, 0.3, True, mask=mask), x)
    m = host(mask)
    assert set(np.unique(m)).issubset({0.0, 1.0 / 0.7})


def test_dropout_eval_identity_seeded_and_rate(backend):
    d = nn.Dropout(0.25)
    x = xn.tensor(np.ones((200, 100), dtype="float32"))
    xn.manual_seed(3)
    a = host(d(x))
    xn.manual_seed(3)
    b = host(d(x))
    np.testing.assert_array_equal(a, b)
    kept = (a != 0).mean()
    n = a.size
    assert abs(kept - 0.75) < 5 * math.sqrt(0.75 * 0.25 / n)  # 5 sigma of the binomial proportion
    assert abs(a.mean() - 1.0) < 5 * math.sqrt(0.25 / 0.75 / n)
    d.eval()
    np.testing.assert_array_equal(host(d(x)), 1.0)


def test_residual_and_flatten(backend, float64):
    block = nn.Sequential(nn.Linear(4, 4, dtype="float64"), nn.Tanh())
    proj = nn.Linear(4, 4, bias=False, dtype="float64")
    x = rand((3, 4), seed=7)
    check_grads(lambda x: nn.Residual(block)(x), x)
    check_grads(lambda x: nn.Residual(block, proj)(x), x)
    y = nn.Flatten()(rand((2, 3, 4), seed=8))
    assert y.shape == (2, 12)


def test_linear_gradcheck_and_parity(backend, float64):
    lin = nn.Linear(5, 3)
    x = rand((4, 5), seed=9)
    check_grads(lambda x, w, b: lin(x), x, lin.weight, lin.bias)
    x3 = rand((2, 4, 5), seed=10)
    check_grads(lambda x, w, b: lin(x), x3, lin.weight, lin.bias)
    tl = torch.nn.functional.linear
    close(lin(x), tl(t(x), t(lin.weight), t(lin.bias)), rtol=1e-12, atol=1e-12)


def test_linear_rejects_wrong_width_and_dtype(backend):
    lin = nn.Linear(5, 3)
    with pytest.raises(ValueError, match="input has 4 features"):
        lin(xn.asarray(np.ones((2, 4))))
    with pytest.raises(TypeError, match="dtype"):
        lin(xn.asarray(np.ones((2, 5)), dtype="float64"))


# -- losses -------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_int_labels(backend, float64, reduction, smoothing):
    z = rand((6, 4), seed=11, scale=2.0)
    y = xn.asarray(np.array([0, 3, 1, 1, 2, 0]))
    check_grads(lambda z: F.cross_entropy(z, y, label_smoothing=smoothing, reduction=reduction), z)
    ref = TF.cross_entropy(t(z), t(y).long(), label_smoothing=smoothing, reduction=reduction)
    close(F.cross_entropy(z, y, label_smoothing=smoothing, reduction=reduction), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets(backend, float64, smoothing):
    z = rand((5, 3), seed=12)
    p = np.random.default_rng(0).dirichlet(np.ones(3), 5)
    q = xn.asarray(p, dtype="float64")
    check_grads(lambda z: F.cross_entropy(z, q, label_smoothing=smoothing), z)
    close(F.cross_entropy(z, q, label_smoothing=smoothing), TF.cross_entropy(t(z), torch.tensor(p), label_smoothing=smoothing),
          rtol=1e-10, atol=1e-12)


def test_cross_entropy_module_and_nll_and_mse(backend, float64):
    z = rand((6, 4), seed=13)
    y = xn.asarray(np.array([0, 3, 1, 1, 2, 0]))
    close(nn.CrossEntropyLoss(label_smoothing=0.05)(z, y),
          TF.cross_entropy(t(z), t(y).long(), label_smoothing=0.05), rtol=1e-10)
    logp = F.log_softmax(z)
    check_grads(lambda z: F.nll_loss(F.log_softmax(z), y), z)
    close(nn.NLLLoss()(logp, y), TF.nll_loss(t(logp), t(y).long()), rtol=1e-10)
    target = rand((6, 4), seed=14)
    target.requires_grad = False
    for red in ("mean", "sum", "none"):
        check_grads(lambda a: F.mse_loss(a, target, reduction=red), z)
        close(nn.MSELoss(reduction=red)(z, target), TF.mse_loss(t(z), t(target), reduction=red), rtol=1e-10)


def test_cross_entropy_bad_labels(backend):
    z = rand((3, 4), seed=15, dtype="float32")
    bad = xn.asarray([0, 4, 1])
    if xn.backend.on_host(bad):
        with pytest.raises(ValueError, match=r"target: labels must lie in 0..3 .*got values in 0..4"):
            F.cross_entropy(z, bad)
    else:  # on a GPU a direct call does not read labels (a per-step sync); they are checked where data enters
        with pytest.raises(ValueError, match=r"y: expected labels in 0..3, got values in 0..4"):
            xn.data.ArrayDataset(z.data, bad, num_classes=4)
    with pytest.raises(ValueError, match="target: expected 3 rows"):
        F.cross_entropy(z, xn.asarray([0, 1]))
    with pytest.raises(ValueError, match="expected probability targets of shape"):
        F.cross_entropy(z, xn.asarray([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"unbatched input of shape \(3,\) expected target shape \(\)"):
        F.cross_entropy(rand((3,), dtype="float32"), xn.asarray([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(z, xn.asarray([0, 1, 2]), reduction="avg")


# -- initialisers -------------------------------------------------------------------------------
def _moments_ok(values, mean, std):
    """Sample mean within 5 standard errors; sample std within 5 standard errors of s (≈ s/√(2n))."""
    n = values.size
    assert abs(values.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(values.std() - std) < 5 * std / math.sqrt(2 * n)


@pytest.mark.parametrize("fan", [(256, 128), (64, 32, 3)])
def test_initialiser_moments(backend, fan):
    init = nn.init
    w = xn.Tensor(xn.get_backend().xp.zeros(fan, dtype=xn.get_backend().xp.float32, device=backend.device))
    fan_in = fan[1] * (fan[2] if len(fan) > 2 else 1)
    fan_out = fan[0] * (fan[2] if len(fan) > 2 else 1)
    cases = [
        (lambda: init.kaiming_normal_(w, nonlinearity="relu"), 0.0, math.sqrt(2 / fan_in)),
        (lambda: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), 0.0, math.sqrt(2 / fan_out)),
        (lambda: init.kaiming_uniform_(w, a=math.sqrt(5)), 0.0, math.sqrt(2 / (1 + 5)) / math.sqrt(fan_in)),
        (lambda: init.kaiming_normal_(w, a=0.2, nonlinearity="leaky_relu"), 0.0, math.sqrt(2 / 1.04) / math.sqrt(fan_in)),
        (lambda: init.xavier_normal_(w, gain=2.0), 0.0, 2.0 * math.sqrt(2 / (fan_in + fan_out))),
        (lambda: init.xavier_uniform_(w), 0.0, math.sqrt(2 / (fan_in + fan_out))),
        (lambda: init.normal_(w, 0.5, 0.1), 0.5, 0.1),
        (lambda: init.uniform_(w, -1, 3), 1.0, 4 / math.sqrt(12)),
    ]
    for fill, mean, std in cases:
        fill()
        _moments_ok(host(w).astype("float64"), mean, std)
    init.zeros_(w)
    assert np.all(host(w) == 0)
    init.ones_(w)
    assert np.all(host(w) == 1)


def test_calculate_gain_matches_torch():
    for nl, p in [("linear", None), ("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("sigmoid", None), ("selu", None)]:
        assert nn.init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))


def test_linear_default_init_is_pytorch_uniform(backend):
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = host(lin.weight), host(lin.bias)
    assert w.min() >= -bound and w.max() <= bound and b.min() >= -bound and b.max() <= bound
    _moments_ok(w.astype("float64"), 0.0, bound / math.sqrt(3))
    x = nn.Linear(400, 300, init="xavier_normal")
    _moments_ok(host(x.weight).astype("float64"), 0.0, math.sqrt(2 / 700))
    assert np.all(host(x.bias) == 0)
    with pytest.raises(ValueError, match="init: expected one of"):
        nn.Linear(2, 2, init="glorot")


def test_fused_chain_equals_layer_by_layer(backend):
    """Sequential runs Linear/BN/activation/Dropout runs as one ChainFn node: same outputs,
    gradients, running statistics and random draws as one node per layer."""
    from xpnet.nn.modules import container

    def run(fuse):
        with xn.config_context(fuse=fuse):
            xn.manual_seed(5)
            model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.GELU(), nn.Dropout(0.3),
                                  nn.Residual(nn.Sequential(nn.Linear(8, 8), nn.LeakyReLU(0.1), nn.Dropout(0.2))),
                                  nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
            x = xn.tensor(np.random.default_rng(0).standard_normal((10, 6)), requires_grad=True)
            out = model(x)
            nn.functional.cross_entropy(out, xn.asarray(np.arange(10) % 3)).backward()
            model.eval()
            return [host(out)] + [host(x.grad)] + [host(p.grad) for p in model.parameters()] + \
                [host(b) for b in model.buffers()] + [host(model(x))]

    fused, plain = run(True), run(False)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a, b)


def test_fused_chain_gradcheck(backend, float64):
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.GELU(), nn.Linear(5, 3), nn.Tanh())
    x = rand((6, 4), seed=30)
    check_grads(lambda x, *p: model(x), x, *model.parameters())


def test_inference_folds_batchnorm_into_linear(backend):
    """Eval mode without a graph folds Linear→BatchNorm into one affine map: same outputs to
    float32 rounding as running the layers one by one."""
    from xpnet.nn.modules import container

    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8),
                          nn.BatchNorm1d(8, affine=False), nn.Linear(8, 3, bias=False), nn.BatchNorm1d(3))
    x = xn.asarray(np.random.default_rng(1).standard_normal((40, 6)))
    for _ in range(3):
        model(x)  # move the running statistics away from (0, 1)
    model.eval()
    with xn.no_grad():
        folded = host(model(x))
        with xn.config_context(fuse=False):
            plain = host(model(x))
    np.testing.assert_allclose(folded, plain, rtol=1e-5, atol=1e-5)


def test_gelu_numba_fast_path_matches_reference():
    from xpnet.backend import fast_numpy

    if not fast_numpy.AVAILABLE:
        pytest.skip("numba not installed: the fused NumPy GELU kernels are optional (pip install 'xpnet[fast]')")
    r = np.random.default_rng(2)
    for dtype, tol in (("float32", 1e-6), ("float64", 1e-12)):
        x = np.concatenate([r.standard_normal(20000) * 3, [-1e4, -8, 0, 8, 1e4]]).astype(dtype).reshape(-1, 5)
        y, cdf = fast_numpy.gelu_forward(x)
        ref = TF.gelu(torch.tensor(x, dtype=torch.float64)).numpy()
        np.testing.assert_array_less(np.abs(y - ref), tol * np.maximum(1.0, np.abs(ref)))
        g = r.standard_normal(x.shape).astype(dtype)
        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        TF.gelu(tx).backward(torch.tensor(g, dtype=torch.float64))
        np.testing.assert_allclose(fast_numpy.gelu_backward(g, x, cdf), tx.grad.numpy(), rtol=1e-5, atol=2e-6)
        big = np.resize(x, (fast_numpy.PARALLEL_MIN // 5 + 1, 5))
        yb, _ = fast_numpy.gelu_forward(big)  # the multi-threaded kernel agrees with the serial one
        np.testing.assert_array_equal(yb[: len(x)], y)


def test_fused_plan_follows_parameter_replacement_and_mode(backend):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2))
    x = xn.asarray(np.ones((5, 3)))
    model(x)
    model[0].weight = nn.Parameter(xn.asarray(np.zeros((4, 3))))
    model[0].bias = nn.Parameter(xn.asarray(np.zeros(4)))
    model.eval()
    out = host(model(x))
    np.testing.assert_allclose(out, np.broadcast_to(host(model[3].bias), (5, 2)), rtol=1e-6)
    model.train()
    xn.manual_seed(0)
    assert model(x).shape == (5, 2)


def test_chain_starting_with_parameter_free_layers(backend):
    """Leading stages with nothing to differentiate (input without grad) are skipped in backward."""
    model = nn.Sequential(nn.LeakyReLU(0.1), nn.Dropout(0.2), nn.Linear(4, 3), nn.GELU(), nn.Linear(3, 2))
    x = xn.asarray(np.random.default_rng(0).standard_normal((5, 4)))
    nn.functional.cross_entropy(model(x), xn.asarray(np.arange(5) % 2)).backward()
    assert all(p.grad is not None for p in model.parameters())
    xt = xn.tensor(np.random.default_rng(0).standard_normal((5, 4)), requires_grad=True)
    model.eval()
    model(xt).sum().backward()
    assert xt.grad is not None and xt.grad.shape == (5, 4)
