"""MultiheadAttention as PyTorch's: positional order (dropout third), boolean masks (True = masked)
on every namespace, key_padding_mask, add_bias_kv, add_zero_attn, kdim/vdim, unbatched input,
per-head weights — outputs, weights and gradients against torch (parameters copied by name)."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn
from helpers import check_grads, close, rand, t, torch


def _pair(*args, **kw):
    ours = nn.MultiheadAttention(*args, **kw)
    ref = torch.nn.MultiheadAttention(*args, **kw, dtype=torch.float64)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for name, p in ours.named_parameters():
            obj = ref
            for part in name.split(".")[:-1]:
                obj = getattr(obj, part)
            tp = getattr(obj, name.split(".")[-1])
            if name.endswith("bias"):  # PyTorch zero-initialises biases: use random ones
                p.data[...] = xn.asarray(rng.standard_normal(tuple(p.shape)), dtype="float64")
            tp.copy_(t(p))
    assert sorted(n for n, _ in ours.named_parameters()) == sorted(n for n, _ in ref.named_parameters())
    return ours, ref


def _masks(lq, lk, n):
    causal = np.triu(np.ones((lq, lk), bool), k=1)
    pad = np.zeros((n, lk), bool)
    pad[0, -1] = True
    return causal, pad


CASES = {
    "bool_masks": (dict(), dict()),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True), dict()),
    "kdim_vdim": (dict(kdim=5, vdim=3), dict()),
    "batch_first_heads": (dict(batch_first=True), dict(average_attn_weights=False)),
    "float_masks_no_bias": (dict(bias=False), dict(float_masks=True)),
    "unbatched": (dict(add_bias_kv=True), dict(unbatched=True)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_multihead_attention_options_parity(backend, float64, case):
    kw, fw = CASES[case]
    fw = dict(fw)
    ours, ref = _pair(8, 2, 0.0, **kw)
    lq, lk, n = 3, 4, 2
    kd, vd = kw.get("kdim", 8), kw.get("vdim", 8)
    unbatched = fw.pop("unbatched", False)
    float_masks = fw.pop("float_masks", False)

    def shape(length, d):
        if unbatched:
            return (length, d)
        return (n, length, d) if kw.get("batch_first") else (length, n, d)

    q, k, v = rand(shape(lq, 8), seed=1), rand(shape(lk, kd), seed=2), rand(shape(lk, vd), seed=3)
    causal, pad = _masks(lq, lk, n)
    am, kpm = causal, (pad[:1][0] if unbatched else pad)
    if float_masks:
        am, kpm = np.where(am, -3.0, 0.5), np.where(kpm, -2.0, 0.0)
    ours_out = ours(q, k, v, key_padding_mask=xn.asarray(kpm), attn_mask=xn.asarray(am), **fw)
    tq, tk, tv = (t(a, requires_grad=True) for a in (q, k, v))
    ref_out = ref(tq, tk, tv, key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(am), **fw)
    close(ours_out[0], ref_out[0], rtol=1e-10, atol=1e-12)
    close(ours_out[1], ref_out[1], rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(4).standard_normal(tuple(ref_out[0].shape))
    ours_out[0].backward(xn.asarray(g, dtype="float64"))
    ref_out[0].backward(torch.tensor(g))
    for a, b in ((q, tq), (k, tk), (v, tv)):
        close(a.grad, b.grad, rtol=1e-9, atol=1e-11)
    for name, p in ours.named_parameters():
        obj = ref
        for part in name.split("."):
            obj = getattr(obj, part)
        close(p.grad, obj.grad, rtol=1e-9, atol=1e-11)


def test_boolean_mask_means_masked_on_every_namespace(backend, float64):
    """True = not allowed: the weight there is exactly 0 (not the score plus 1)."""
    mha = nn.MultiheadAttention(4, 1)
    x = rand((3, 1, 4), seed=5)
    mask = np.array([[False, True, True], [False, False, True], [False, False, False]])
    _, w = mha(x, x, x, attn_mask=xn.asarray(mask))
    w = xn.to_numpy(w)[0]
    assert np.all(w[mask] == 0.0) and np.allclose(w.sum(-1), 1.0)


def test_multihead_attention_gradcheck_with_extras(backend, float64):
    mha = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3)
    q, k, v = rand((2, 1, 4), seed=6), rand((3, 1, 3), seed=7), rand((3, 1, 4), seed=8)
    kpm = xn.asarray(np.array([[False, False, True]]))
    check_grads(lambda q, k, v, *p: mha(q, k, v, key_padding_mask=kpm)[0], q, k, v, *mha.parameters())


def test_multihead_attention_positional_order_is_pytorchs(backend):
    mha = nn.MultiheadAttention(4, 2, 0.25, False)
    assert mha.dropout == 0.25 and mha.in_proj_bias is None and mha.out_proj.bias is None
    with pytest.raises(TypeError, match="add_bias_kv.*1"):
        nn.MultiheadAttention(4, 2, 0.0, True, 1)
