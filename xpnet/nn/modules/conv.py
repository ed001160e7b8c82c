"""Convolution, pooling and embedding layers (PyTorch shapes: (N, C, L) and (N, C, H, W))."""
from __future__ import annotations

import math

from ...backend import describe, on_host
from ...backend.special import is_integral, label_range
from .. import init as _init
from ..functional import conv as C
from .linear import empty_parameter
from .module import Module


class _ConvNd(Module):
    def __init__(self, in_channels, out_channels, kernel, stride, padding, bias):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel, stride, padding
        self.weight = empty_parameter((out_channels, in_channels) + kernel)
        self.bias = empty_parameter((out_channels,)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform(a=√5) weights, bias U(±1/√fan_in)."""
        _init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_channels * math.prod(self.kernel_size))
            _init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}")


class Conv2d(_ConvNd):
    """2-D cross-correlation over (N, C, H, W) with ``stride`` and zero ``padding``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__(in_channels, out_channels, C._pair(kernel_size), C._pair(stride), C._pair(padding), bias)

    def forward(self, x):
        return C.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class Conv1d(_ConvNd):
    """1-D cross-correlation over (N, C, L)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__(in_channels, out_channels, (kernel_size,), stride, padding, bias)

    def forward(self, x):
        return C.conv1d(x, self.weight, self.bias, self.stride, self.padding)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return C.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    def forward(self, x):
        return C.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class MaxPool1d(MaxPool2d):
    def forward(self, x):
        return C.max_pool1d(x, self.kernel_size, self.stride, self.padding)


class Embedding(Module):
    """A lookup table: row ``i`` of ``weight`` (num_embeddings × embedding_dim, N(0, 1) as PyTorch)
    for every integer index; the gradient of repeated indices adds up (scatter-add)."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = empty_parameter((num_embeddings, embedding_dim))
        _init.normal_(self.weight)

    def forward(self, indices):
        idx = indices.data if hasattr(indices, "_xp") else indices
        xp = self.weight._xp
        if not is_integral(xp, idx.dtype):
            raise TypeError(f"Embedding: expected integer indices, got {describe(idx)}")
        flat = xp.reshape(idx, (-1,))
        if flat.shape[0] and on_host(flat):  # the range check reads values: only where that is free
            lo, hi = label_range(xp, flat)
            if lo < 0 or hi >= self.num_embeddings:
                raise ValueError(f"Embedding: indices must lie in 0..{self.num_embeddings - 1}, got {lo}..{hi}")
        out = self.weight.take(flat, axis=0)
        return out.reshape(tuple(idx.shape) + (self.embedding_dim,))

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
