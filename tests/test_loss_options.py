"""CrossEntropyLoss/NLLLoss options as PyTorch: class weight, ignore_index, label smoothing with both,
K-dimensional and unbatched inputs, probability targets (with their own gradient), small integer label
dtypes — float64 gradcheck and parity on every namespace."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn
from xpnet.nn import functional as F
from helpers import check_grads, close, host, rand, t, torch

TF = torch.nn.functional
W = np.array([0.3, 1.7, 1.0, 0.6])

CASES = {  # name: (input shape, labels shape, kwargs)
    "weight": ((7, 4), (7,), dict(weight=True)),
    "ignore": ((7, 4), (7,), dict(ignore_index=2)),
    "ignore_default": ((7, 4), (7,), dict(ignore_index=-100)),
    "weight_ignore_smooth": ((7, 4), (7,), dict(weight=True, ignore_index=1, label_smoothing=0.2)),
    "kdim": ((3, 4, 2, 3), (3, 2, 3), dict(weight=True)),
    "kdim_ignore_smooth": ((2, 4, 5), (2, 5), dict(ignore_index=0, label_smoothing=0.1)),
    "unbatched": ((4,), (), dict(weight=True)),
}


def _labels(shape, seed, ignore=None):
    y = np.random.default_rng(seed).integers(0, 4, shape)
    if ignore == -100 and y.size:
        y.reshape(-1)[::3] = -100
    return y


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_class_loss_options_parity_and_gradcheck(backend, float64, case, loss):
    shape, yshape, kw = CASES[case]
    kw = dict(kw)
    if loss == "nll_loss" and "label_smoothing" in kw:
        kw.pop("label_smoothing")
    z = rand(shape, seed=3, scale=2.0)
    y = _labels(yshape, 4, kw.get("ignore_index"))
    ours_kw, ref_kw = dict(kw), dict(kw)
    if kw.get("weight"):
        ours_kw["weight"], ref_kw["weight"] = xn.asarray(W), torch.tensor(W)
    fn = getattr(F, loss)
    check_grads(lambda z: fn(z, xn.asarray(y), reduction="mean", **ours_kw), z)
    for reduction in ("mean", "sum", "none"):
        tz = t(z, requires_grad=True)
        ref = getattr(TF, loss)(tz, torch.tensor(y), reduction=reduction, **ref_kw)
        out = fn(z, xn.asarray(y), reduction=reduction, **ours_kw)
        close(out, ref, rtol=1e-10, atol=1e-12)
        g = np.random.default_rng(1).standard_normal(tuple(ref.shape))
        z.grad = None
        out.backward(xn.asarray(g, dtype="float64"))
        ref.backward(torch.tensor(g))
        close(z.grad, tz.grad, rtol=1e-10, atol=1e-12)


def test_loss_modules_take_pytorch_positional_weight(backend, float64):
    z = rand((5, 4), seed=5)
    y = _labels((5,), 6)
    ours = nn.CrossEntropyLoss(xn.asarray(W), None, 3, None, "sum", 0.1)(z, xn.asarray(y))
    ref = torch.nn.CrossEntropyLoss(torch.tensor(W), None, 3, None, "sum", 0.1)(t(z), torch.tensor(y))
    close(ours, ref, rtol=1e-10)
    logp = F.log_softmax(z)
    close(nn.NLLLoss(xn.asarray(W))(logp, xn.asarray(y)), torch.nn.NLLLoss(torch.tensor(W))(t(logp), torch.tensor(y)),
          rtol=1e-10)
    with pytest.raises(NotImplementedError, match="size_average"):
        nn.MSELoss("sum")


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_probability_targets_get_a_gradient(backend, float64, smoothing):
    """Soft targets that require grad receive ∂ℓ/∂q = −(1 − ε) w log p (PyTorch does the same)."""
    z = rand((4, 3), seed=7)
    q = xn.tensor(np.random.default_rng(0).dirichlet(np.ones(3), 4), requires_grad=True)
    w = np.array([0.5, 1.0, 2.0])
    check_grads(lambda z, q: F.cross_entropy(z, q, xn.asarray(w), label_smoothing=smoothing), z, q)
    tz, tq = t(z, requires_grad=True), t(q, requires_grad=True)
    TF.cross_entropy(tz, tq, torch.tensor(w), label_smoothing=smoothing).backward()
    z.grad = q.grad = None
    F.cross_entropy(z, q, xn.asarray(w), label_smoothing=smoothing).backward()
    close(q.grad, tq.grad, rtol=1e-10, atol=1e-12)
    close(z.grad, tz.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "uint16", "int32", "uint32"])
def test_small_integer_label_dtypes_give_pytorchs_loss(backend, dtype):
    z = rand((3, 4), seed=8, dtype="float32")
    y = np.array([3, 3, 3])
    ref = TF.cross_entropy(t(z), torch.tensor(y), reduction="none")
    close(F.cross_entropy(z, xn.asarray(y.astype(dtype)), reduction="none"), ref, rtol=1e-6)
    close(F.nll_loss(F.log_softmax(z), xn.asarray(y.astype(dtype))), TF.nll_loss(TF.log_softmax(t(z), 1), torch.tensor(y)),
          rtol=1e-6)


def test_all_rows_ignored_is_nan_as_pytorch(backend):
    z = rand((2, 3), seed=9, dtype="float32")
    out = float(host(F.cross_entropy(z, xn.asarray([-100, -100]))))
    assert np.isnan(out) and np.isnan(float(TF.cross_entropy(t(z), torch.tensor([-100, -100]))))
