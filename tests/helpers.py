"""Test helpers: host conversion, a float64 gradcheck wrapper, and the PyTorch oracle."""
from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet.autograd import gradcheck

torch = pytest.importorskip("torch", reason="PyTorch is the parity oracle: pip install torch==2.13.0")
torch.set_default_dtype(torch.float32)
F32 = dict(rtol=2e-4, atol=2e-5)


def eps_tol(dtype="float32", ulps=8, scale=1.0):
    """Tolerances that follow the dtype: ``ulps`` machine epsilons relative, and ``ulps`` epsilons of
    ``scale`` (the magnitude of the values compared) absolute."""
    eps = float(np.finfo(str(dtype).rsplit(".", 1)[-1]).eps)
    return dict(rtol=ulps * eps, atol=ulps * eps * scale)


def host(x):
    return xn.to_numpy(x)


def rand(shape, seed=0, dtype="float64", scale=1.0):
    """Seeded host data as a Tensor of the active backend."""
    r = np.random.default_rng(seed)
    return xn.tensor((r.standard_normal(shape) * scale).astype(dtype), requires_grad=True)


def check_grads(fn, *inputs, **kw):
    assert gradcheck(fn, list(inputs), **kw)


def t(x, requires_grad=False):
    """A torch CPU float tensor from any array/Tensor."""
    out = torch.tensor(np.array(host(x)))
    return out.requires_grad_(requires_grad)


def close(a, b, **kw):
    np.testing.assert_allclose(host(a), b.detach().numpy() if hasattr(b, "detach") else b, **(kw or F32))


def train_step(model, opt):
    """The usual training step on ``(xb, yb)``: cross-entropy, zero_grad, backward, step; returns the
    loss array (what the compile tests trace and replay)."""
    from xpnet import nn

    def step(xb, yb):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.data

    return step
