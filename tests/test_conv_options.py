"""PyTorch's Conv/pooling options: groups, dilation, padding='same'/'valid'/tuples, padding_mode,
ceil_mode, return_indices, divisor_override, count_include_pad, unbatched inputs — float64 gradcheck
and parity (forward and input/weight gradients) with the same torch layer, on every namespace."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn
from helpers import check_grads, close, host, rand, t, torch

TN = torch.nn


def _copy_params(ours, ref):
    ref = ref.double()
    with torch.no_grad():
        for name, p in ours.named_parameters():
            getattr(ref, name).copy_(t(p))
    return ref


def _parity(layer, ref, x, tol=1e-10):
    """Forward and backward (random cotangent) equal to torch's."""
    tx = t(x, requires_grad=True)
    y, ty = layer(x), ref(tx)
    if isinstance(y, tuple):
        np.testing.assert_array_equal(host(y[1]), ty[1].numpy())
        y, ty = y[0], ty[0]
    close(y, ty, rtol=tol, atol=tol)
    g = np.random.default_rng(3).standard_normal(tuple(ty.shape))
    x.grad = None
    for p in layer.parameters():
        p.grad = None
    y.backward(xn.asarray(g, dtype="float64"))
    ty.backward(torch.tensor(g))
    close(x.grad, tx.grad, rtol=tol, atol=tol)
    for name, p in layer.named_parameters():
        close(p.grad, getattr(ref, name).grad, rtol=tol, atol=tol)


CONV_CASES = {
    "2d_groups_dilation": (lambda M: M.Conv2d(4, 6, 3, 1, 2, 2, 2), (2, 4, 7, 6)),
    "2d_depthwise_stride": (lambda M: M.Conv2d(3, 6, (3, 2), (2, 1), (1, 0), 1, 3, False), (2, 3, 7, 5)),
    "2d_same_even_kernel": (lambda M: M.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2)), (2, 2, 6, 7)),
    "2d_valid": (lambda M: M.Conv2d(2, 3, 3, padding="valid"), (1, 2, 5, 5)),
    "2d_reflect": (lambda M: M.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="reflect"), (2, 2, 5, 6)),
    "2d_replicate": (lambda M: M.Conv2d(2, 3, 3, padding=1, padding_mode="replicate"), (2, 2, 4, 5)),
    "2d_circular": (lambda M: M.Conv2d(2, 3, 3, 2, padding=(1, 2), padding_mode="circular"), (2, 2, 5, 5)),
    "2d_unbatched": (lambda M: M.Conv2d(2, 3, 2, padding=1), (2, 4, 4)),
    "1d_groups_dilation_same": (lambda M: M.Conv1d(4, 4, 3, 1, "same", 2, 2), (2, 4, 9)),
    "1d_reflect_tuple": (lambda M: M.Conv1d(2, 3, (3,), (2,), (2,), padding_mode="reflect"), (2, 2, 8)),
    "1d_unbatched_circular": (lambda M: M.Conv1d(2, 3, 3, padding=1, padding_mode="circular"), (2, 6)),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv_options_gradcheck_and_parity(backend, float64, case):
    build, shape = CONV_CASES[case]
    layer = build(nn)
    ref = _copy_params(layer, build(TN))
    x = rand(shape, seed=1)
    _parity(layer, ref, x)
    small = rand((1,) + shape[1:] if len(shape) == len(layer.kernel_size) + 2 else shape, seed=2)
    check_grads(lambda x, *ps: layer(x), small, *layer.parameters())


POOL_CASES = {
    "max2d_ceil_indices": (lambda M: M.MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True), (2, 2, 6, 7)),
    "max2d_dilation": (lambda M: M.MaxPool2d(2, 1, 0, dilation=2), (2, 2, 6, 5)),
    "max2d_unbatched_indices": (lambda M: M.MaxPool2d(2, return_indices=True), (3, 4, 5)),
    "avg2d_ceil_nopad_count": (lambda M: M.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 6, 7)),
    "avg2d_ceil_pad_count": (lambda M: M.AvgPool2d(3, 2, 1, ceil_mode=True), (2, 2, 6, 6)),
    "avg2d_divisor_override": (lambda M: M.AvgPool2d(2, padding=1, divisor_override=3), (2, 2, 5, 4)),
    "avg2d_unbatched": (lambda M: M.AvgPool2d((2, 3), (1, 2)), (2, 5, 7)),
    "max1d_ceil_indices": (lambda M: M.MaxPool1d(3, 2, 1, ceil_mode=True, return_indices=True), (2, 3, 8)),
    "max1d_unbatched": (lambda M: M.MaxPool1d(2), (3, 7)),
}


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_pool_options_gradcheck_and_parity(backend, float64, case):
    build, shape = POOL_CASES[case]
    layer, ref = build(nn), build(TN)
    # distinct values: the max (and its gradient) is unique in every window
    x = xn.tensor(np.random.default_rng(5).permutation(int(np.prod(shape))).reshape(shape) / 7.0,
                  requires_grad=True)
    _parity(layer, ref, x, tol=1e-12)
    first = (lambda x: layer(x)[0]) if getattr(layer, "return_indices", False) else layer
    check_grads(first, x, eps=1e-7)


def test_conv_and_pool_constructor_errors():
    with pytest.raises(ValueError, match="padding='same'.*stride"):
        nn.Conv2d(2, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode.*'mirror'"):
        nn.Conv1d(2, 3, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding must be at most half the kernel size.*padding=5"):
        nn.MaxPool2d(3, padding=5)
    with pytest.raises(TypeError, match="bias.*'yes'"):
        nn.Conv2d(2, 3, 3, bias="yes")
    with pytest.raises(TypeError, match="dtype must be a floating-point type.*int32"):
        nn.Conv2d(2, 3, 3, dtype="int32")


def test_conv_positional_order_is_pytorchs(backend):
    """The 6th positional argument is dilation (PyTorch), not bias."""
    conv = nn.Conv2d(2, 4, 3, 1, 0, 2)
    assert conv.dilation == (2, 2) and conv.bias is not None
    assert tuple(conv(xn.asarray(np.zeros((1, 2, 7, 7), "float32"))).shape) == (1, 4, 3, 3)
