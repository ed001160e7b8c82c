"""Optimisers, schedules and clipping: parity with PyTorch over several steps, on every namespace."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from helpers import host, torch
from torch_mirror import train_side_by_side


def _mlp():
    # BatchNorm after the activation: a Linear bias right before BatchNorm has an exactly-zero true
    # gradient, and Adam would amplify float32 rounding noise in it (see test_models.py)
    return nn.Sequential(nn.Linear(12, 16), nn.GELU(), nn.BatchNorm1d(16), nn.Dropout(0.2),
                         nn.Linear(16, 16), nn.LeakyReLU(0.05), nn.Linear(16, 5))


def _batch(n=24, d=12, c=5, seed=0):
    r = np.random.default_rng(seed)
    return xn.asarray(r.standard_normal((n, d)).astype("float32")), xn.asarray(r.integers(0, c, n))


OPTIMISERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd_momentum_wd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "sgd_dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3),
    "sgd_nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adam_l2_amsgrad": lambda p: optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2, amsgrad=True),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1),
    "sgd_maximize": lambda p: optim.SGD(p, 0.05, 0.9, 0, 1e-3, maximize=True),
    "adam_maximize_decoupled": lambda p: optim.Adam(p, 1e-2, (0.9, 0.99), 1e-8, 0.1, maximize=True,
                                                    decoupled_weight_decay=True),
    "rmsprop": lambda p: optim.RMSprop(p, lr=1e-2),
    "rmsprop_centered_momentum_wd": lambda p: optim.RMSprop(p, 1e-2, 0.9, 1e-8, 1e-3, 0.8, True),
    "adagrad": lambda p: optim.Adagrad(p, lr=5e-2, lr_decay=0.01, weight_decay=1e-3, initial_accumulator_value=0.1),
    "nadam": lambda p: optim.NAdam(p, lr=1e-2, weight_decay=1e-3),
    "nadam_decoupled_maximize": lambda p: optim.NAdam(p, lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True,
                                                      maximize=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMISERS))
def test_optimizer_parity_5_steps(backend, name):
    model = _mlp()
    X, y = _batch()
    train_side_by_side(model, OPTIMISERS[name](model.parameters()), X, y, steps=5)


def test_report000_sgd_form_equals_pytorch_sgd(backend):
    """Report 000: v ← μv − η(g + λW), W ← W + v. With dampening 0 PyTorch's b ← μb + (g + λW),
    W ← W − ηb gives the same W (v = −ηb when η is constant)."""
    model = nn.Linear(6, 3)
    W = host(model.weight).astype("float64").copy()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    X, y = _batch(8, 6, 3)
    v = np.zeros_like(W)
    for _ in range(5):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        g = host(model.weight.grad).astype("float64")
        W_before = host(model.weight).astype("float64")
        v = 0.9 * v - 0.1 * (g + 0.01 * W_before)
        W = W_before + v
        opt.step()
        np.testing.assert_allclose(host(model.weight), W, rtol=1e-5, atol=1e-6)


def test_param_groups_and_zero_grad(backend):
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    opt = optim.SGD([{"params": model[0].parameters(), "lr": 0.0}, {"params": model[1].parameters()}], lr=0.5)
    before0, before1 = host(model[0].weight).copy(), host(model[1].weight).copy()
    X, y = _batch(5, 4, 2)
    nn.functional.cross_entropy(model(X), y).backward()
    opt.step()
    np.testing.assert_array_equal(host(model[0].weight), before0)  # lr 0 group untouched
    assert not np.array_equal(host(model[1].weight), before1)
    opt.zero_grad(set_to_none=False)
    assert np.all(host(model[1].weight.grad) == 0)
    opt.zero_grad()
    assert model[1].weight.grad is None


@pytest.mark.parametrize("foreach", [None, False])
def test_updates_are_in_place(backend, foreach):
    """Flat storage is made at construction (parameters become views of one buffer, where the namespace
    guarantees views); every step after that, and every per-parameter step, updates the same arrays in place."""
    model = nn.Linear(4, 2)
    before = [p.data for p in model.parameters()]
    opt = optim.Adam(model.parameters(), lr=0.1, foreach=foreach)
    arrays = [p.data for p in model.parameters()]
    flat = foreach is None and backend.name in ("numpy", "torch", "cupy")
    assert opt.flat == flat
    assert all((a is b) != flat for a, b in zip(arrays, before)), "views made once, at construction"
    X, y = _batch(5, 4, 2)
    for i in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))


def test_optimizer_state_dict_roundtrip_continues_identically(backend):
    X, y = _batch()

    def run(split):
        xn.manual_seed(1)
        model = _mlp()
        opt = optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
        for i in range(6):
            if i == split:
                state = opt.state_dict()
                opt = optim.Adam(model.parameters(), lr=123.0)
                opt.load_state_dict(state)
            opt.zero_grad()
            nn.functional.cross_entropy(model(X), y).backward()
            opt.step()
        return [host(p).copy() for p in model.parameters()]

    for a, b in zip(run(None), run(3)):
        np.testing.assert_array_equal(a, b)


def _sched(S, name, opt):
    """The same schedule from xpnet's or PyTorch's lr_scheduler module (identical signatures)."""
    return {
        "step": lambda: S.StepLR(opt, step_size=7, gamma=0.5),
        "multistep": lambda: S.MultiStepLR(opt, milestones=[10, 30, 60], gamma=0.3),
        "exponential": lambda: S.ExponentialLR(opt, gamma=0.97),
        "cosine": lambda: S.CosineAnnealingLR(opt, T_max=40, eta_min=1e-4),
        "linear": lambda: S.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=10),
        "sequential": lambda: S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=5),
                                                   S.CosineAnnealingLR(opt, T_max=95)], milestones=[5]),
        "constant": lambda: S.ConstantLR(opt, factor=0.25, total_iters=7),
        "polynomial": lambda: S.PolynomialLR(opt, total_iters=60, power=2.0),
        "onecycle": lambda: S.OneCycleLR(opt, max_lr=0.5, total_steps=101),
        "onecycle_linear_3phase": lambda: S.OneCycleLR(opt, max_lr=0.5, epochs=10, steps_per_epoch=11,
                                                       anneal_strategy="linear", three_phase=True),
        "cosine_past_tmax": lambda: S.CosineAnnealingLR(opt, T_max=30, eta_min=1e-3),
    }[name]()


_SCHEDULES = ["step", "multistep", "exponential", "cosine", "linear", "sequential", "constant", "polynomial",
              "onecycle", "onecycle_linear_3phase", "cosine_past_tmax"]


@pytest.mark.parametrize("name", _SCHEDULES)
def test_schedule_lr_sequence_equals_pytorch(name):
    import warnings

    opt = optim.SGD([xn.Tensor(xn.asarray([1.0]), requires_grad=True)], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)
    ours, ref = _sched(optim.lr_scheduler, name, opt), _sched(torch.optim.lr_scheduler, name, topt)
    a, b = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(100):
            a.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
            b.append((topt.param_groups[0]["lr"], topt.param_groups[0]["momentum"]))
            topt.step()
            ours.step()
            ref.step()
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_reduce_on_plateau_equals_pytorch():
    opt = optim.SGD([xn.Tensor(xn.asarray([1.0]), requires_grad=True)], lr=0.1)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    ours = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3, cooldown=2, min_lr=1e-3)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.5, patience=3, cooldown=2, min_lr=1e-3)
    losses = np.r_[np.linspace(1, 0.5, 10), np.full(40, 0.5), np.linspace(0.5, 0.4, 10), np.full(40, 0.4)]
    for v in losses:
        ours.step(float(v))
        ref.step(float(v))
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_clip_grad_norm_parity(backend, norm_type):
    model = _mlp()
    X, y = _batch()
    from torch_mirror import mirror

    tmodel = mirror(model)
    model.eval(), tmodel.eval()
    nn.functional.cross_entropy(model(X), y).backward()
    torch.nn.functional.cross_entropy(tmodel(torch.tensor(host(X))), torch.tensor(host(y))).backward()
    total = optim.clip_grad_norm_(model.parameters(), 0.5, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 0.5, norm_type)
    np.testing.assert_allclose(float(host(total)), float(ttotal), rtol=1e-5)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(host(p.grad), tp.grad.numpy(), rtol=1e-4, atol=1e-6)
    optim.clip_grad_value_(model.parameters(), 1e-3)
    assert max(float(np.abs(host(p.grad)).max()) for p in model.parameters()) <= 1e-3 + 1e-9


def test_optimizer_argument_errors():
    p = [xn.Tensor(xn.asarray([1.0]), requires_grad=True)]
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])


@pytest.mark.parametrize("name", sorted(OPTIMISERS))
def test_flat_buffer_step_is_bit_identical_to_per_parameter_loop(backend, name):
    """Flat buffers (default) and the per-parameter loop (``foreach=False``) give the same bits, through
    a step where one parameter has no gradient (flat: counted as zeros; the loop is given zeros) and a
    state_dict reload mid-way (gathered into the flat state again)."""
    X, y = _batch()

    def run(foreach):
        xn.manual_seed(2)
        model = _mlp()
        opt = OPTIMISERS[name](model.parameters())
        if foreach is False:
            opt = type(opt)(model.parameters(), foreach=False, **{k: v for k, v in opt.defaults.items()
                                                                   if k not in ("foreach",)})
        for i in range(6):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X), y).backward()
            if i == 3:  # a step where one parameter has no gradient
                b = model[0].bias
                b.grad = None if opt.flat else b._xp.zeros_like(b.grad)
            if i == 4:  # reload state mid-way: the flat state is gathered from it
                opt.load_state_dict(opt.state_dict())
            opt.step()
        return [host(p).copy() for p in model.parameters()], opt

    (flat, opt), (plain, popt) = run(None), run(False)
    for a, b in zip(flat, plain):
        np.testing.assert_array_equal(a, b)
    assert opt.flat == (backend.name in ("numpy", "torch", "cupy")), "flat storage where views are guaranteed"
    assert not popt.flat
    sd, psd = opt.state_dict(), popt.state_dict()
    assert len(sd["state"]) == len(list(opt.param_groups[0]["params"]))
    for i, s in sd["state"].items():  # the same per-parameter format whatever the storage
        assert sorted(s) == sorted(psd["state"][i])
        for k, v in s.items():
            if hasattr(v, "shape"):
                np.testing.assert_array_equal(host(v), host(psd["state"][i][k]))
            else:
                assert v == psd["state"][i][k]


def _chain_pair(build):
    """The same chain of schedules on an xpnet and a torch optimiser."""
    opt = optim.SGD([xn.Tensor(xn.asarray([1.0]), requires_grad=True)], lr=0.1)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    return opt, topt, build(optim.lr_scheduler, opt), build(torch.optim.lr_scheduler, topt)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_chained_step_and_linear_compose_as_pytorch():
    """Two schedules on one optimiser multiply (PyTorch's chainable form): StepLR(10, 0.9) with
    LinearLR(0.4 -> 0.6, 4) is 0.1 * 0.9 * 0.6 = 0.054 at step 10, not the last one's 0.06."""
    opt, topt, ours, ref = _chain_pair(lambda S, o: [S.StepLR(o, 10, 0.9), S.LinearLR(o, 0.4, 0.6, 4)])
    for t in range(1, 31):
        for s in ours + ref:
            s.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
        if t == 10:
            assert opt.param_groups[0]["lr"] == pytest.approx(0.054, rel=1e-12)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("first", ["step", "exponential"])
def test_plateau_cut_survives_the_next_scheduled_step(first):
    """ReduceLROnPlateau's cut stays in the lr once the other schedule steps (PyTorch: 0.0081 where
    a closed-form overwrite would give 0.081)."""
    def build(S, o):
        s = S.StepLR(o, 5, 0.9) if first == "step" else S.ExponentialLR(o, 0.9)
        return [s, S.ReduceLROnPlateau(o, factor=0.1, patience=0)]

    opt, topt, (a, pa), (b, pb) = _chain_pair(build)
    for v in [1.0, 2.0, 2.0, 0.5, 3.0, 3.0, 3.0, 0.1, 0.2, 0.3, 0.3]:
        a.step(), b.step()
        pa.step(v), pb.step(v)
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
    assert opt.param_groups[0]["lr"] < 0.1 * 0.9 ** 11 * 0.5  # cuts were kept, not erased


def test_scheduler_state_dict_resume_continues_identically():
    opt, _, s, _ = _chain_pair(lambda S, o: S.CosineAnnealingLR(o, T_max=20, eta_min=1e-3))
    for _ in range(7):
        s.step()
    saved, lr = s.state_dict(), opt.param_groups[0]["lr"]
    opt2, _, s2, _ = _chain_pair(lambda S, o: S.CosineAnnealingLR(o, T_max=20, eta_min=1e-3))
    s2.load_state_dict(saved)
    opt2.param_groups[0]["lr"] = lr
    for _ in range(5):
        s.step(), s2.step()
        assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]
