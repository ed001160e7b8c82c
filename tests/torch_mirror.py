"""Build a PyTorch copy of an xpnet model (same weights, dropout replaying xpnet's masks) and run
both side by side for parity tests."""
from __future__ import annotations

import numpy as np
import torch

import xpnet as xn
import importlib

xdropout = importlib.import_module("xpnet.nn.functional.dropout")
xfunctional = importlib.import_module("xpnet.nn.functional")
from xpnet import nn


class MaskReplay:
    """Records the dropout masks xpnet draws so that the torch mirror can apply the same ones."""

    def __init__(self):
        self.masks = []
        self._orig = xdropout.dropout_mask

    def __enter__(self):
        def recording(x, p):
            m = self._orig(x, p)
            self.masks.append(np.array(xn.to_numpy(m)))
            return m

        xdropout.dropout_mask = xfunctional.dropout_mask = recording
        return self

    def __exit__(self, *exc):
        xdropout.dropout_mask = xfunctional.dropout_mask = self._orig

    def pop(self):
        return torch.tensor(self.masks.pop(0))


class TorchDropout(torch.nn.Module):
    def __init__(self, p, replay):
        super().__init__()
        self.p, self.replay = p, replay

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * self.replay.pop()


class TorchResidual(torch.nn.Module):
    def __init__(self, block, shortcut):
        super().__init__()
        self.block, self.shortcut = block, shortcut

    def forward(self, x):
        return self.block(x) + (x if self.shortcut is None else self.shortcut(x))


def _p(param):
    return torch.nn.Parameter(torch.tensor(np.array(xn.to_numpy(param.data))))


def mirror(m, replay=None):
    """A torch.nn.Module computing what xpnet Module ``m`` computes, with copied weights."""
    if isinstance(m, nn.Linear):
        out = torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
        out.weight = _p(m.weight)
        if m.bias is not None:
            out.bias = _p(m.bias)
        return out
    if isinstance(m, nn.BatchNorm1d):
        out = torch.nn.BatchNorm1d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
        if m.affine:
            out.weight, out.bias = _p(m.weight), _p(m.bias)
        return out
    if isinstance(m, nn.LayerNorm):
        out = torch.nn.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine)
        if m.elementwise_affine:
            out.weight, out.bias = _p(m.weight), _p(m.bias)
        return out
    if isinstance(m, nn.Sequential):
        return torch.nn.Sequential(*[mirror(c, replay) for c in m])
    if isinstance(m, nn.Residual):
        return TorchResidual(mirror(m.block, replay), None if m.shortcut is None else mirror(m.shortcut, replay))
    if isinstance(m, nn.Dropout):
        return TorchDropout(m.p, replay)
    simple = {
        nn.ReLU: lambda: torch.nn.ReLU(),
        nn.Sigmoid: lambda: torch.nn.Sigmoid(),
        nn.Tanh: lambda: torch.nn.Tanh(),
        nn.Identity: lambda: torch.nn.Identity(),
        nn.Flatten: lambda: torch.nn.Flatten(m.start_dim, m.end_dim),
        nn.LeakyReLU: lambda: torch.nn.LeakyReLU(m.negative_slope),
        nn.GELU: lambda: torch.nn.GELU(approximate=m.approximate),
        nn.LogSoftmax: lambda: torch.nn.LogSoftmax(dim=m.dim),
        nn.Softmax: lambda: torch.nn.Softmax(dim=m.dim),
    }
    if type(m) in simple:
        return simple[type(m)]()
    raise TypeError(f"no torch mirror for {type(m).__name__}")


def torch_optimizer(opt, tmodel):
    """The torch optimiser matching xpnet optimiser ``opt`` over the mirror's parameters (one group)."""
    g = {k: v for k, v in opt.param_groups[0].items() if k not in ("params", "initial_lr")}
    cls = getattr(torch.optim, type(opt).__name__)
    return cls(tmodel.parameters(), **g)


def train_side_by_side(model, opt, X, y, steps=5, loss_kw=None, tol=dict(rtol=2e-4, atol=2e-5), inert=()):
    """Train xpnet ``model`` with ``opt`` and its torch mirror for ``steps`` on the same batch; assert
    losses, gradients and parameters agree at every step. Returns the two loss lists.

    ``inert``: names of parameters that cannot change any output (a Linear bias feeding straight
    into BatchNorm); their gradients are still compared, their values are not (see test_models)."""
    loss_kw = loss_kw or {}
    replay = MaskReplay()
    tmodel = mirror(model, replay)
    topt = torch_optimizer(opt, tmodel)
    tX, ty = torch.tensor(np.array(xn.to_numpy(X))), torch.tensor(np.array(xn.to_numpy(y)))
    lx, lt = [], []
    with replay:
        for _ in range(steps):
            opt.zero_grad()
            loss = xn.nn.functional.cross_entropy(model(X), y, **loss_kw)
            loss.backward()
            topt.zero_grad()
            tloss = torch.nn.functional.cross_entropy(tmodel(tX), ty, **loss_kw)
            tloss.backward()
            lx.append(loss.item())
            lt.append(tloss.item())
            for (name, p), tp in zip(model.named_parameters(), tmodel.parameters()):
                np.testing.assert_allclose(xn.to_numpy(p.grad), tp.grad.numpy(), err_msg=f"grad {name}", **tol)
            opt.step()
            topt.step()
            for (name, p), tp in zip(model.named_parameters(), tmodel.parameters()):
                if name not in inert:
                    np.testing.assert_allclose(xn.to_numpy(p.data), tp.detach().numpy(), err_msg=f"param {name}", **tol)
    np.testing.assert_allclose(lx, lt, **tol)
    return lx, lt
