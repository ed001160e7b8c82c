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
    bad = xn.asarray(np.array([1, 6]))
    if xn.backend.on_host(bad):
        with pytest.raises(ValueError, match=r"indices must lie in 0..5"):
            emb(bad)
    else:  # documented: on a GPU the indices are not read (a per-step sync); CuPy wraps, as the stand-in does
        np.testing.assert_array_equal(host(emb(bad)), host(emb(xn.asarray(np.array([1, 0])))))
    with pytest.raises(TypeError, match="integer indices"):
        emb(xn.asarray(np.array([1.0])))


@pytest.mark.parametrize("nonlinearity,layers,batch_first", [("tanh", 1, False), ("relu", 2, True)])
def test_rnn_gradcheck_and_parity(backend, float64, nonlinearity, layers, batch_first):
    rnn = nn.RNN(3, 4, num_layers=layers, nonlinearity=nonlinearity, batch_first=batch_first)
    x = rand((2, 5, 3) if batch_first else (5, 2, 3), seed=6)  # batch 2, 5 steps
    h0 = rand((layers, 2, 4), seed=7)
    check_grads(lambda x, h0, *p: rnn(x, h0)[0], x, h0, *rnn.parameters())
    ref = torch.nn.RNN(3, 4, num_layers=layers, nonlinearity=nonlinearity, batch_first=batch_first, dtype=torch.float64)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            getattr(ref, name).copy_(t(p))
    out, hn = rnn(x, h0)
    tout, thn = ref(t(x), t(h0))
    close(out, tout, rtol=1e-10, atol=1e-10)
    close(hn, thn, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_gradcheck_and_parity(backend, float64, batch_first):
    mha = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    q, k = rand((3, 2, 8), seed=8), rand((4, 2, 8), seed=9)
    v = rand((4, 2, 8), seed=10)
    if batch_first:
        q, k, v = (rand((2, s, 8), seed=11 + s) for s in (3, 4, 4))
    mask = xn.asarray(np.triu(np.full((3, 4), -1e9), k=2), dtype="float64")
    check_grads(lambda q, k, v, *p: mha(q, k, v, attn_mask=mask)[0], q, k, v, *mha.parameters())
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=torch.float64)
    with torch.no_grad():
        ref.in_proj_weight.copy_(t(mha.in_proj_weight))
        ref.in_proj_bias.copy_(torch.tensor(np.random.default_rng(0).standard_normal(24)))
        mha.in_proj_bias.data[...] = xn.asarray(ref.in_proj_bias.detach().numpy(), dtype="float64")
        ref.out_proj.weight.copy_(t(mha.out_proj.weight))
        ref.out_proj.bias.copy_(t(mha.out_proj.bias))
    out, w = mha(q, k, v, attn_mask=mask)
    tout, tw = ref(t(q), t(k), t(v), attn_mask=t(mask))
    close(out, tout, rtol=1e-10, atol=1e-10)
    close(w, tw, rtol=1e-10, atol=1e-10)


def test_random_horizontal_flip(backend):
    x = xn.asarray(np.arange(2 * 1 * 2 * 3, dtype="float32").reshape(2, 1, 2, 3))
    xn.manual_seed(0)
    always = host(xn.preprocessing.RandomHorizontalFlip(1.0)(x))
    np.testing.assert_array_equal(always, host(x)[..., ::-1])
    np.testing.assert_array_equal(host(xn.preprocessing.RandomHorizontalFlip(0.0)(x)), host(x))
    many = xn.asarray(np.tile(np.arange(4, dtype="float32"), (4000, 1, 1, 1)))
    flipped = host(xn.preprocessing.RandomHorizontalFlip(0.3)(many))[:, 0, 0, 0] == 3
    assert abs(flipped.mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / 4000)


def test_random_crop_windows_are_shifted_copies(backend):
    r = np.random.default_rng(0)
    x = r.standard_normal((50, 2, 6, 6)).astype("float32")
    xn.manual_seed(1)
    out = host(xn.preprocessing.RandomCrop(6, padding=2)(xn.asarray(x)))
    assert out.shape == (50, 2, 6, 6)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = set()
    for i in range(50):
        match = [(a, b) for a in range(5) for b in range(5) if np.array_equal(padded[i, :, a:a + 6, b:b + 6], out[i])]
        assert match, f"image {i} is not a window of its padded image"
        offsets.add(match[0])
    assert len(offsets) > 5  # offsets vary between images
    with pytest.raises(ValueError, match="larger than the padded image"):
        xn.preprocessing.RandomCrop(11, padding=2)(xn.asarray(x))
