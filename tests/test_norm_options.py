"""BatchNorm1d/2d and LayerNorm options as PyTorch: momentum=None (cumulative average), bias=False,
BatchNorm2d, argument checks — parity of outputs, gradients and running statistics, float64, every
namespace; gradcheck."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn
from helpers import check_grads, close, host, rand, t, torch


def _copy(ours, ref):
    ref = ref.double()
    with torch.no_grad():
        for n, p in ours.named_parameters():
            getattr(ref, n).copy_(t(p) + 0.1 * torch.arange(p.shape[0], dtype=torch.float64).reshape(-1, *[1] * (p.ndim - 1)))
            p.data[...] = xn.asarray(getattr(ref, n).detach().numpy(), dtype="float64")
    return ref


CASES = {
    "bn1d_cumulative": (lambda M: M.BatchNorm1d(3, 1e-5, None), (6, 3)),
    "bn1d_nobias_3d": (lambda M: M.BatchNorm1d(3, bias=False), (4, 3, 5)),
    "bn2d": (lambda M: M.BatchNorm2d(3, momentum=0.3), (4, 3, 2, 3)),
    "bn2d_cumulative_noaffine": (lambda M: M.BatchNorm2d(3, momentum=None, affine=False), (2, 3, 3, 2)),
    "ln_nobias": (lambda M: M.LayerNorm((2, 3), 1e-4, True, False), (4, 2, 3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_norm_options_parity_over_steps(backend, float64, case):
    build, shape = CASES[case]
    ours = build(nn)
    ref = _copy(ours, build(torch.nn))
    for step in range(3):
        x = rand(shape, seed=step)
        tx = t(x, requires_grad=True)
        y, ty = ours(x), ref(tx)
        close(y, ty, rtol=1e-10, atol=1e-12)
        g = np.random.default_rng(step).standard_normal(shape)
        y.backward(xn.asarray(g, dtype="float64"))
        ty.backward(torch.tensor(g))
        close(x.grad, tx.grad, rtol=1e-9, atol=1e-11)
        for n, p in ours.named_parameters():
            close(p.grad, getattr(ref, n).grad, rtol=1e-9, atol=1e-11)
            p.grad = None
            getattr(ref, n).grad = None
        if getattr(ours, "running_mean", None) is not None:
            close(ours.running_mean, ref.running_mean, rtol=1e-10, atol=1e-12)
            close(ours.running_var, ref.running_var, rtol=1e-10, atol=1e-12)
    ours.eval(), ref.eval()
    x = rand(shape, seed=9)
    close(ours(x), ref(t(x)), rtol=1e-10, atol=1e-12)
    ours.train()
    x = rand(shape, seed=10)
    check_grads(lambda x, *ps: ours(x), x, *ours.parameters())


def test_norm_argument_errors():
    with pytest.raises(ValueError, match="eps must be a positive number, got 0"):
        nn.BatchNorm1d(3, eps=0)
    with pytest.raises(ValueError, match="eps must be a positive number, got -1e-05"):
        nn.BatchNorm2d(3, eps=-1e-5)
    with pytest.raises(ValueError, match="momentum.*1.5"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(TypeError, match="affine.*'no'"):
        nn.BatchNorm1d(3, affine="no")
    with pytest.raises(ValueError, match=r"expected input \(N, 3, H, W\)"):
        nn.BatchNorm2d(3)(xn.asarray(np.zeros((2, 3), "float32")))


@pytest.mark.parametrize("kind,shape", [("Dropout1d", (40, 6, 5)), ("Dropout2d", (40, 6, 3, 4)),
                                        ("Dropout2d", (300, 2, 2))])
def test_channel_dropout(backend, float64, kind, shape):
    """Whole channels are zeroed (rate ≈ p), the rest scaled by 1/(1−p); the gradient is the same mask;
    identity in eval."""
    layer = getattr(nn, kind)(0.3)
    x = xn.tensor(np.ones(shape), requires_grad=True)
    y = host(layer(x))
    lead = len(shape) - (1 if kind == "Dropout1d" else 2)
    per_channel = y.reshape(y.shape[:lead] + (-1,))
    assert np.all((per_channel == 0).all(-1) | np.isclose(per_channel, 1 / 0.7).all(-1))
    rate = (per_channel == 0).all(-1).mean()
    n = per_channel[..., 0].size
    assert abs(rate - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n)
    out = layer(x)
    out.backward(xn.asarray(np.ones(shape)))
    np.testing.assert_allclose(host(x.grad), host(out))
    layer.eval()
    np.testing.assert_array_equal(host(layer(x)), np.ones(shape))
    with pytest.raises(ValueError, match="p .*1.5"):
        getattr(nn, kind)(1.5)
