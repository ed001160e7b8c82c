"""Bad arguments to layers, losses, optimisers and schedules fail at once with an error that names
the argument and the value received (issue 10 §2 and issue 16); PyTorch's positional orders hold."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.optim import lr_scheduler as S


def _p():
    return [xn.Tensor(xn.asarray(np.ones(3, "float32")), requires_grad=True)]


def _sgd():
    return optim.SGD(_p(), lr=0.1)


@pytest.mark.parametrize("build,exc,pattern", [
    (lambda: nn.CrossEntropyLoss(label_smoothing=-0.1), ValueError, r"label_smoothing.*-0\.1"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), ValueError, r"label_smoothing.*1\.5"),
    (lambda: nn.CrossEntropyLoss(reduction="foo"), ValueError, r"reduction.*'foo'"),
    (lambda: nn.NLLLoss(reduction="avg"), ValueError, r"reduction.*'avg'"),
    (lambda: nn.CrossEntropyLoss(ignore_index=1.5), TypeError, r"ignore_index.*1\.5"),
    (lambda: optim.SGD(_p(), lr=float("nan")), ValueError, r"lr.*nan"),
    (lambda: optim.SGD(_p(), lr="0.1"), TypeError, r"lr.*'0\.1'"),
    (lambda: optim.Adam(_p(), lr=-1e-3), ValueError, r"lr.*-0\.001"),
    (lambda: optim.SGD(_p(), 0.1, momentum=-0.5), ValueError, r"momentum.*-0\.5"),
    (lambda: optim.Adam(_p(), betas=(0.9, 1.0)), ValueError, r"betas\[1\].*1\.0"),
    (lambda: optim.RMSprop(_p(), alpha=-1), ValueError, r"alpha.*-1"),
    (lambda: optim.Adagrad(_p(), lr_decay=-1), ValueError, r"lr_decay.*-1"),
    (lambda: optim.NAdam(_p(), momentum_decay=float("inf")), ValueError, r"momentum_decay.*inf"),
    (lambda: optim.SGD(_p(), lr=0.1, differentiable=True), NotImplementedError, r"differentiable=True"),
    (lambda: optim.Adam(_p(), foreach="yes"), TypeError, r"foreach.*'yes'"),
    (lambda: optim.SGD("params"), TypeError, r"params.*str"),
    (lambda: S.StepLR(_sgd(), step_size=0), ValueError, r"step_size.*0"),
    (lambda: S.StepLR(_sgd(), step_size=-2), ValueError, r"step_size.*-2"),
    (lambda: S.ExponentialLR(_sgd(), gamma=-0.5), ValueError, r"gamma.*-0\.5"),
    (lambda: S.ExponentialLR(_sgd(), gamma=0), ValueError, r"gamma.*0"),
    (lambda: S.CosineAnnealingLR(_sgd(), T_max=0), ValueError, r"T_max.*0"),
    (lambda: S.MultiStepLR(_sgd(), milestones="abc"), TypeError, r"milestones.*'abc'"),
    (lambda: S.StepLR("notopt", 3), TypeError, r"optimizer.*str"),
    (lambda: S.LinearLR(_sgd(), total_iters=0), ValueError, r"total_iters.*0"),
    (lambda: S.PolynomialLR(_sgd(), total_iters=-1), ValueError, r"total_iters.*-1"),
    (lambda: S.ConstantLR(_sgd(), factor=2.0), ValueError, r"factor.*2\.0"),
    (lambda: S.OneCycleLR(_sgd(), max_lr=0.1), ValueError, r"total_steps"),
    (lambda: S.ReduceLROnPlateau(_sgd(), factor=1.5), ValueError, r"factor.*1\.5"),
    (lambda: S.ReduceLROnPlateau(_sgd(), patience=-1), ValueError, r"patience.*-1"),
    (lambda: S.ReduceLROnPlateau(_sgd()).step("abc"), TypeError, r"metrics.*'abc'"),
    (lambda: optim.clip_grad_norm_(_p(), max_norm=-1), ValueError, r"max_norm.*-1"),
    (lambda: optim.clip_grad_value_(_p(), clip_value="x"), TypeError, r"clip_value.*'x'"),
    (lambda: nn.Linear(3, 4, dtype="int32"), TypeError, r"dtype.*'int32'"),
    (lambda: nn.Linear(3, 0), ValueError, r"out_features.*0"),
    (lambda: nn.RNN(3, 4, bias=0), TypeError, r"bias.*0"),
    (lambda: nn.LSTM(3, 4, batch_first="false"), TypeError, r"batch_first.*'false'"),
    (lambda: nn.GRU(3, 4, num_layers=0), ValueError, r"num_layers.*0"),
    (lambda: nn.RNN(0, 4), ValueError, r"input_size.*0"),
    (lambda: nn.BatchNorm1d(4, eps=0), ValueError, r"eps.*0"),
    (lambda: nn.MaxPool2d(3, padding=5), ValueError, r"padding.*5"),
    (lambda: nn.Conv2d(1, 2, 3, stride=2, padding="same"), ValueError, r"padding='same'.*stride"),
    (lambda: nn.Conv1d(1, 2, 3, padding="full"), ValueError, r"padding.*'full'"),
    (lambda: nn.MultiheadAttention(6, 4), ValueError, r"embed_dim 6.*num_heads 4"),
    (lambda: nn.MSELoss(True), NotImplementedError, r"size_average.*True"),
])
def test_bad_argument_is_named_with_its_value(build, exc, pattern):
    with pytest.raises(exc, match=pattern):
        build()


def test_same_parameter_twice_is_refused():
    p = _p()
    with pytest.raises(ValueError, match="more than once in one parameter group"):
        optim.SGD(p + p, lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)


def test_state_of_another_class_is_refused_naming_both():
    sched = S.StepLR(_sgd(), 3)
    with pytest.raises(ValueError, match="saved by StepLR, not CosineAnnealingLR"):
        S.CosineAnnealingLR(_sgd(), 10).load_state_dict(sched.state_dict())
    sgd = optim.SGD(_p(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="saved by SGD, not Adam"):
        optim.Adam(_p()).load_state_dict(sgd.state_dict())
    legacy = sgd.state_dict()
    legacy.pop("optimizer")  # a state without the class name (e.g. from a checkpoint): keys tell
    with pytest.raises(ValueError, match="not Adam.*betas"):
        optim.Adam(_p()).load_state_dict(legacy)


def test_moving_the_model_without_the_optimizer_is_a_clear_error():
    from xpnet.backend import load

    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters())
    x = xn.asarray(np.ones((4, 3), "float32"))
    model(x).sum().backward()
    opt.step()
    model.to(load("array_api_strict"))
    with xn.use_backend(load("array_api_strict")):
        model(xn.asarray(np.ones((4, 3), "float32"))).sum().backward()
        with pytest.raises(RuntimeError, match=r"optimizer\.to\(target\).*or create the optimiser again"):
            opt.step()
        opt.to(load("array_api_strict"))
        opt.step()  # moved: works


def test_pytorch_positional_orders():
    """SGD's 5th positional is weight_decay, Adam's 5th weight_decay, the losses' 1st weight."""
    sgd = optim.SGD(_p(), 0.1, 0.9, 0, 1e-4)
    assert sgd.param_groups[0]["weight_decay"] == 1e-4 and sgd.param_groups[0]["nesterov"] is False
    adam = optim.Adam(_p(), 1e-3, (0.8, 0.9), 1e-6, 1e-2, True)
    g = adam.param_groups[0]
    assert (g["betas"], g["eps"], g["weight_decay"], g["amsgrad"]) == ((0.8, 0.9), 1e-6, 1e-2, True)
    w = xn.asarray(np.array([1.0, 2.0], "float32"))
    assert nn.CrossEntropyLoss(w).weight is w and nn.NLLLoss(w).weight is w
    assert nn.Linear(3, 4, False).bias is None
    optim.SGD(_p(), 0.1, foreach=True, fused=False)  # implementation-only flags are accepted


@pytest.mark.parametrize("build,shape", [
    (lambda: nn.Conv2d(2, 3, 3, dtype="float64"), (1, 2, 5, 5)),
    (lambda: nn.Conv1d(2, 3, 3, dtype="float64"), (1, 2, 5)),
    (lambda: nn.LSTM(2, 3, dtype="float64"), (4, 1, 2)),
])
def test_float32_input_to_float64_weights_is_refused(build, shape):
    with pytest.raises(TypeError, match="input dtype .*float32.* differs from weight dtype .*float64"):
        build()(xn.asarray(np.zeros(shape, "float32")))
    mha = nn.MultiheadAttention(4, 2, dtype="float64")
    x = xn.asarray(np.zeros((3, 1, 4), "float32"))
    with pytest.raises(TypeError, match="MultiheadAttention: input dtypes"):
        mha(x, x, x)
