"""``Linear``'s x Wᵀ + b: one library call with the bias folded into the matrix product where the
backend has one (PyTorch's addmm, ``ops.affine``), the product and an in-place add elsewhere; a compiled
step records the folded call as one operation."""
from __future__ import annotations

import numpy as np

import xpnet as xn
from xpnet import nn
from xpnet.backend import load, ops, to_numpy


def test_affine_matches_product_plus_bias(backend):
    xp = backend.xp
    r = np.random.default_rng(0)
    x = xn.asarray(r.standard_normal((7, 5)).astype(np.float32))
    w = xn.asarray(r.standard_normal((3, 5)).astype(np.float32))
    b = xn.asarray(r.standard_normal(3).astype(np.float32))
    got = to_numpy(ops.affine(xp, x, w, b))
    want = to_numpy(x) @ to_numpy(w).T + to_numpy(b)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.affine(xp, x, w, None)), to_numpy(x) @ to_numpy(w).T, rtol=1e-5,
                               atol=1e-5)


def test_linear_on_torch_is_torchs_linear_bit_for_bit():
    import torch

    with xn.use_backend("torch"):
        assert ops.folds_bias(xn.get_backend().xp)
        xn.manual_seed(0)
        layer = nn.Linear(16, 8)
        x = xn.asarray(np.random.default_rng(1).standard_normal((32, 16)).astype(np.float32))
        y = layer(x).data
        want = torch.nn.functional.linear(x, layer.weight.data, layer.bias.data)
        assert torch.equal(y, want)


def test_folding_backends_only():
    """NumPy keeps the two operations (a compiled step fuses the bias add into the next kernel and
    writes the product into a reused buffer); PyTorch folds."""
    assert not ops.folds_bias(load("numpy").xp)
    assert not ops.folds_bias(load("array_api_strict").xp)
    assert ops.folds_bias(load("torch").xp)


def test_compiled_step_on_torch_records_one_affine_per_linear():
    with xn.use_backend("torch"):
        xn.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
        model.eval()
        x = xn.asarray(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32))
        f = xn.compile(model)
        with xn.no_grad():
            for _ in range(4):
                got = f(x)
            want = model(x)
        (plan,) = f.plans
        names = [op.name() for op in plan.ops]
        assert names.count("affine") == 2 and "__matmul__" not in names, names
        assert to_numpy(got.data).tolist() == to_numpy(want.data).tolist()
