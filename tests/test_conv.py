"""The extension layers: convolution, pooling, embedding — float64 gradcheck and PyTorch parity on
every namespace."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn
from helpers import check_grads, close, host, rand, t, torch

TF = torch.nn.functional


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_gradcheck_and_parity(backend, float64, stride, padding):
    conv = nn.Conv2d(2, 3, (3, 2), stride=stride, padding=padding)
    x = rand((2, 2, 6, 5), seed=1)
    check_grads(lambda x, w, b: conv(x), x, conv.weight, conv.bias)
    ref = TF.conv2d(t(x), t(conv.weight), t(conv.bias), stride=stride, padding=padding)
    close(conv(x), ref, rtol=1e-10, atol=1e-10)


def test_conv1d_gradcheck_and_parity(backend, float64):
    conv = nn.Conv1d(3, 4, 3, stride=2, padding=1)
    x = rand((2, 3, 9), seed=2)
    check_grads(lambda x, w, b: conv(x), x, conv.weight, conv.bias)
    close(conv(x), TF.conv1d(t(x), t(conv.weight), t(conv.bias), stride=2, padding=1), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["max2d", "avg2d", "max1d"])
def test_pooling_gradcheck_and_parity(backend, float64, kind):
    if kind == "max2d":
        layer, ref, x = nn.MaxPool2d(2, padding=1), lambda v: TF.max_pool2d(v, 2, padding=1), rand((2, 3, 5, 4), seed=3)
    elif kind == "avg2d":
        layer, ref, x = nn.AvgPool2d(3, stride=2), lambda v: TF.avg_pool2d(v, 3, stride=2), rand((2, 3, 7, 6), seed=4)
    else:
        layer, ref, x = nn.MaxPool1d(3, stride=2), lambda v: TF.max_pool1d(v, 3, stride=2), rand((2, 3, 9), seed=5)
    check_grads(lambda x: layer(x), x, eps=1e-7)
    tx = t(x, requires_grad=True)
    close(layer(x), ref(tx), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(0).standard_normal(layer(x).shape)
    x.grad = None
    layer(x).backward(xn.asarray(g, dtype="float64"))
    ref(tx).backward(torch.tensor(g))
    close(x.grad, tx.grad, rtol=1e-12, atol=1e-12)


def test_small_cnn_trains_in_parity_with_torch(backend):
    xn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                             torch.nn.Flatten(), torch.nn.Linear(64, 3))
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tm.parameters()):
            tp.copy_(torch.tensor(host(p)))
    X = np.random.default_rng(1).standard_normal((8, 1, 8, 8)).astype("float32")
    y = np.arange(8) % 3
    opt, topt = xn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    for _ in range(4):
        loss = nn.functional.cross_entropy(model(xn.asarray(X)), xn.asarray(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        tloss = TF.cross_entropy(tm(torch.tensor(X)), torch.tensor(y))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=2e-4, abs=2e-5)
    for p, tp in zip(model.parameters(), tm.parameters()):
        close(p, tp, rtol=2e-4, atol=2e-5)


def test_embedding_scatter_adds_and_checks(backend, float64):
    emb = nn.Embedding(6, 3)
    idx = xn.asarray(np.array([[0, 2], [2, 5]]))
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    close(out, TF.embedding(torch.tensor(host(idx)), t(emb.weight)), rtol=1e-12, atol=1e-12)
    check_grads(lambda w: emb(idx), emb.weight)
    emb.weight.grad = None
    emb(idx).sum().backward()
    np.testing.assert_allclose(host(emb.weight.grad)[:, 0], [1, 0, 2, 0, 0, 1])
    with pytest.raises(ValueError, match=r"indices must lie in 0..5"):
        emb(xn.asarray(np.array([1, 6])))
    with pytest.raises(TypeError, match="integer indices"):
        emb(xn.asarray(np.array([1.0])))
