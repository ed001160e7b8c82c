"""Each report's best model as an xn.nn.Sequential, trained in parity with PyTorch; and a property
test over random small MLPs × optimisers."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpnet as xn
from xpnet import nn, optim
from helpers import torch
from torch_mirror import train_side_by_side


def report000():
    block = lambda i, o: [nn.Linear(i, o), nn.BatchNorm1d(o), nn.GELU(), nn.Dropout(0.2)]
    model = nn.Sequential(*block(128, 256), nn.Residual(nn.Sequential(*block(256, 256))), nn.Linear(256, 10))
    return model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)


def report001():
    block = lambda i, o: [nn.Linear(i, o, init="xavier_normal"), nn.BatchNorm1d(o), nn.ReLU(), nn.Dropout(0.25)]
    model = nn.Sequential(*block(128, 64), *block(64, 32), nn.Linear(32, 10, init="xavier_normal"))
    return model, optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.02)


def report002():
    block = lambda i, o: [nn.Linear(i, o), nn.ReLU(), nn.BatchNorm1d(o), nn.Dropout(0.3)]
    model = nn.Sequential(*block(128, 128), *block(128, 64), nn.Linear(64, 10))
    return model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def report004():
    model = nn.Sequential(nn.Linear(128, 192), nn.BatchNorm1d(192), nn.LeakyReLU(), nn.Linear(192, 10))
    return model, optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)


def _batch(n, d=128, c=10, seed=0):
    r = np.random.default_rng(seed)
    return xn.asarray(r.standard_normal((n, d))), xn.asarray(r.integers(0, c, n))


@pytest.mark.parametrize("build", [report000, report002], ids=["report000", "report002"])
def test_sgd_report_models_parity_float32(backend, build):
    model, opt = build()
    X, y = _batch(64)
    train_side_by_side(model, opt, X, y, steps=5)


@pytest.mark.parametrize("build,inert", [(report001, ("0.bias", "4.bias")), (report004, ("0.bias",))],
                         ids=["report001", "report004"])
def test_adam_report_models_parity_float32(backend, build, inert):
    """These models put a Linear bias right before BatchNorm: its true gradient is exactly zero and
    it cannot change any output. Each engine's rounding noise (~1e-9) in that gradient, fed to Adam
    with L2 decay, grows by about lr·λ/ε per step, so those bias values are chaotic in any two
    implementations (PyTorch's CPU and CUDA runs differ too). Their gradients, every other
    parameter and the loss are compared at every step."""
    model, opt = build()
    X, y = _batch(64)
    train_side_by_side(model, opt, X, y, steps=5, inert=inert)


@pytest.mark.parametrize("build", [report000, report001, report002, report004])
def test_report_models_expressible_and_count_parameters(build):
    model, _ = build()
    from torch_mirror import mirror

    assert model.num_parameters() == sum(p.numel() for p in mirror(model).parameters())
    assert "Total params" in model.summary((2, 128))


ACTS = [nn.ReLU, nn.GELU, nn.Tanh, nn.Sigmoid, lambda: nn.LeakyReLU(0.1), lambda: nn.GELU("tanh")]
OPTS = [
    lambda p: optim.SGD(p, lr=0.1),
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: optim.Adam(p, lr=1e-2, amsgrad=True),
    lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.05),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    backend_name=st.sampled_from(["numpy", "array_api_strict", "torch"]),
    widths=st.lists(st.integers(2, 12), min_size=1, max_size=3),
    act=st.integers(0, len(ACTS) - 1),
    norm=st.sampled_from(["none", "batchnorm", "layernorm"]),
    p_drop=st.sampled_from([0.0, 0.3]),
    residual=st.booleans(),
    opt=st.integers(0, len(OPTS) - 1),
    batch=st.integers(4, 16),
    seed=st.integers(0, 2**16),
)
def test_random_mlps_agree_with_pytorch(float64, backend_name, widths, act, norm, p_drop, residual, opt, batch, seed):
    torch.set_default_dtype(torch.float64)
    try:
        with xn.use_backend(backend_name):
            xn.manual_seed(seed)
            layers, width = [], 6
            for w in widths:
                block = [nn.Linear(width, w), ACTS[act]()]
                if norm == "batchnorm":
                    block.append(nn.BatchNorm1d(w))
                elif norm == "layernorm":
                    block.append(nn.LayerNorm(w))
                if p_drop:
                    block.append(nn.Dropout(p_drop))
                layers.append(nn.Residual(nn.Sequential(*block)) if residual and w == width else nn.Sequential(*block))
                width = w
            model = nn.Sequential(*layers, nn.Linear(width, 3))
            r = np.random.default_rng(seed)
            X = xn.asarray(r.standard_normal((batch, 6)), dtype="float64")
            y = xn.asarray(r.integers(0, 3, batch))
            train_side_by_side(model, OPTS[opt](model.parameters()), X, y, steps=3,
                               tol=dict(rtol=1e-6, atol=1e-8))
    finally:
        torch.set_default_dtype(torch.float32)
