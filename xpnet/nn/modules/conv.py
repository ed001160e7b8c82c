"""Convolution, pooling and embedding layers (PyTorch shapes: (N, C, L) and (N, C, H, W))."""
from __future__ import annotations

import math

from .. import init as _init
from ..functional import conv as C
from ..functional.sparse import embedding
from .linear import check_bool, check_device, empty_parameter, positive_int
from .module import Module


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    def __init__(self, name, nd, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, device, dtype):
        super().__init__()
        tup = C._pair if nd == 2 else (lambda v, n="kernel_size": (C._single(v, n),))
        positive_int(name, "in_channels", in_channels)
        positive_int(name, "out_channels", out_channels)
        positive_int(name, "groups", groups)
        check_bool(name, "bias", bias)
        check_device(name, device)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        kernel, stride, dilation = tup(kernel_size), tup(stride, "stride"), tup(dilation, "dilation")
        for nm, v in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
            if any(isinstance(i, bool) or not isinstance(i, int) or i <= 0 for i in v):
                raise ValueError(f"{name}: {nm} must be positive ints, got {v!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride}); use stride=1 or an explicit padding")
        else:
            padding = tup(padding, "padding")
            if any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in padding):
                raise ValueError(f"{name}: padding must be non-negative ints, got {padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.padding_mode = padding_mode
        self.weight = empty_parameter((out_channels, in_channels // groups) + kernel, dtype, name)
        self.bias = empty_parameter((out_channels,), dtype, name) if bias else None
        self.reset_parameters()

    def _fn_args(self):
        one = len(self.kernel_size) == 1
        pick = (lambda v: v if isinstance(v, str) else v[0]) if one else (lambda v: v)
        return dict(stride=pick(self.stride), padding=pick(self.padding), dilation=pick(self.dilation),
                    groups=self.groups, padding_mode=self.padding_mode)

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform(a=√5) weights, bias U(±1/√fan_in), fan_in = C/groups·∏k."""
        _init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_channels // self.groups * math.prod(self.kernel_size))
            _init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
             f"padding={self.padding}")
        if any(d != 1 for d in self.dilation):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s + f", bias={self.bias is not None}"


class Conv2d(_ConvNd):
    """2-D cross-correlation over (N, C, H, W) or (C, H, W) (PyTorch ``nn.Conv2d``, same positional
    order): ``stride``, ``padding`` (int, pair, 'same', 'valid'), ``dilation``, ``groups``,
    ``padding_mode`` zeros/reflect/replicate/circular."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__("Conv2d", 2, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def forward(self, input):
        x = input
        return C.conv2d(x, self.weight, self.bias, **self._fn_args())


class Conv1d(_ConvNd):
    """1-D cross-correlation over (N, C, L) or (C, L) (PyTorch ``nn.Conv1d``, same options)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__("Conv1d", 1, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def forward(self, input):
        x = input
        return C.conv1d(x, self.weight, self.bias, **self._fn_args())


class MaxPool2d(Module):
    """Max over windows (PyTorch ``nn.MaxPool2d``): padding (≤ kernel/2, −inf), dilation, ceil_mode,
    return_indices (flat index into each input plane)."""

    _fn = staticmethod(C.max_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        name = type(self).__name__
        check_bool(name, "return_indices", return_indices)
        check_bool(name, "ceil_mode", ceil_mode)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode
        k, p = C._pair(kernel_size), C._pair(padding, "padding")
        if p[0] > k[0] // 2 or p[1] > k[1] // 2:
            raise ValueError(f"{name}: padding must be at most half the kernel size, got padding={padding} for "
                             f"kernel_size={kernel_size}")

    def forward(self, input):
        x = input
        return self._fn(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                        self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    _fn = staticmethod(C.max_pool1d)


class AvgPool2d(Module):
    """Mean over windows (PyTorch ``nn.AvgPool2d``): padding, ceil_mode, count_include_pad,
    divisor_override."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        check_bool("AvgPool2d", "ceil_mode", ceil_mode)
        check_bool("AvgPool2d", "count_include_pad", count_include_pad)
        k, p = C._pair(kernel_size), C._pair(padding, "padding")
        if p[0] > k[0] // 2 or p[1] > k[1] // 2:
            raise ValueError(f"AvgPool2d: padding must be at most half the kernel size, got padding={padding} for "
                             f"kernel_size={kernel_size}")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input):
        x = input
        return C.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class Embedding(Module):
    """A lookup table: row ``i`` of ``weight`` (num_embeddings × embedding_dim, N(0, 1) as PyTorch)
    for every integer index; the gradient of repeated indices adds up (scatter-add)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        positive_int("Embedding", "num_embeddings", num_embeddings)
        positive_int("Embedding", "embedding_dim", embedding_dim)
        check_device("Embedding", device)
        unsupported = {k: v for k, v in (("padding_idx", padding_idx), ("max_norm", max_norm),
                                         ("scale_grad_by_freq", scale_grad_by_freq), ("sparse", sparse),
                                         ("_weight", _weight), ("_freeze", _freeze)) if v not in (None, False)}
        if unsupported:
            raise NotImplementedError(f"Embedding: {', '.join(f'{k}={v!r}' for k, v in unsupported.items())} not "
                                      "supported yet; leave the default")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = empty_parameter((num_embeddings, embedding_dim), dtype, "Embedding")
        _init.normal_(self.weight)

    def forward(self, indices):
        return embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


__all__ = ["AvgPool2d", "Conv1d", "Conv2d", "Embedding", "MaxPool1d", "MaxPool2d"]
