"""RNN, LSTM and GRU against PyTorch's (same constructor arguments, parameters copied by name):
num_layers, bidirectional, batch_first, bias=False, dropout, given initial states, unbatched input —
outputs, final states and every gradient, float64, on every namespace; plus gradcheck."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn
from helpers import check_grads, close, host, rand, t, torch

CASES = {
    "1layer": dict(),
    "2layer_bidir": dict(num_layers=2, bidirectional=True),
    "batch_first_nobias": dict(batch_first=True, bias=False),
    "3layer_dropout1": dict(num_layers=3, dropout=1.0),  # p = 1: deterministic (all zeros) in both
    "bidir_unbatched": dict(bidirectional=True, unbatched=True),
    "with_hx": dict(num_layers=2, hx=True),
    "lstm_proj_bidir": dict(num_layers=2, bidirectional=True, proj_size=2),
}


def _pair(kind, kw):
    kw = {k: v for k, v in kw.items() if k not in ("unbatched", "hx")}
    ours = getattr(nn, kind)(3, 4, **kw)
    ref = getattr(torch.nn, kind)(3, 4, **kw).double()
    names = [n for n, _ in ref.named_parameters()]
    assert names == [n for n, _ in ours.named_parameters()]
    with torch.no_grad():
        for n, p in ours.named_parameters():
            getattr(ref, n).copy_(t(p))
    return ours, ref


def _states(kind, out):
    h = out[1]
    return list(h) if kind == "LSTM" else [h]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_parity_with_pytorch(backend, float64, kind, case):
    kw = CASES[case]
    if "proj_size" in kw and kind != "LSTM":
        pytest.skip("proj_size is an LSTM option")
    ours, ref = _pair(kind, kw)
    ours.train(), ref.train()
    shape = (5, 3) if kw.get("unbatched") else ((2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    x = rand(shape, seed=1)
    tx = t(x, requires_grad=True)
    args, targs = (), ()
    if kw.get("hx"):
        hs = [rand((kw["num_layers"], 2, 4), seed=s) for s in (7, 8)]
        ths = [t(h, requires_grad=True) for h in hs]
        args = ((hs[0], hs[1]),) if kind == "LSTM" else (hs[0],)
        targs = ((ths[0], ths[1]),) if kind == "LSTM" else (ths[0],)
    out, tout = ours(x, *args), ref(tx, *targs)
    close(out[0], tout[0], rtol=1e-10, atol=1e-12)
    for a, b in zip(_states(kind, out), _states(kind, tout)):
        close(a, b, rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(2)
    gs = [rng.standard_normal(tuple(o.shape)) for o in [tout[0]] + _states(kind, tout)]
    loss = sum((o * xn.asarray(g, dtype="float64")).sum() for o, g in zip([out[0]] + _states(kind, out), gs))
    tloss = sum((o * torch.tensor(g)).sum() for o, g in zip([tout[0]] + _states(kind, tout), gs))
    loss.backward(), tloss.backward()
    close(x.grad, tx.grad, rtol=1e-9, atol=1e-11)
    for n, p in ours.named_parameters():
        close(p.grad, getattr(ref, n).grad, rtol=1e-9, atol=1e-11)
    if kw.get("hx"):
        for h, th in list(zip(hs, ths))[:2 if kind == "LSTM" else 1]:
            close(h.grad, th.grad, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_gradcheck(backend, float64, kind):
    # small: the parity test above already compares every gradient with PyTorch's
    layer = getattr(nn, kind)(2, 2, bidirectional=True)
    x = rand((2, 1, 2), seed=4)

    def f(x, *ps):
        out, h = layer(x)
        return out

    check_grads(f, x, *layer.parameters())


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_invalid_arguments(kind):
    cls = getattr(nn, kind)
    with pytest.raises(TypeError, match="bias.*1"):
        cls(3, 4, bias=1)
    with pytest.raises(TypeError, match="batch_first.*'yes'"):
        cls(3, 4, batch_first="yes")
    with pytest.raises(ValueError, match="num_layers.*0"):
        cls(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="input_size.*0"):
        cls(0, 4)
    with pytest.raises(ValueError, match="dropout.*1.5"):
        cls(3, 4, dropout=1.5)


def test_recurrent_rejects_mixed_precision(backend):
    layer = nn.GRU(3, 4, dtype="float64")
    with pytest.raises(TypeError, match="input dtype .*float32.* differs from weight dtype .*float64"):
        layer(xn.asarray(np.zeros((2, 1, 3), "float32")))


def test_lstm_proj_size_must_be_smaller_than_hidden():
    with pytest.raises(ValueError, match="proj_size must be smaller than hidden_size, got proj_size=4"):
        nn.LSTM(3, 4, proj_size=4)
