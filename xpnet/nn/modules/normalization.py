"""BatchNorm1d and LayerNorm layers."""
from __future__ import annotations

from ...backend import get_backend, resolve_dtype
from .. import functional as F
from ..functional.chain import Stage
from ..functional.normalization import BatchNormFn
from ..parameter import Parameter
from .module import Module


def _filled(shape, value, dtype=None):
    b = get_backend()
    return b.xp.full(tuple(shape), value, dtype=resolve_dtype(b.xp, dtype), device=b.device)


class BatchNorm1d(Module):
    """Batch normalisation over (N, C) or (N, C, L) inputs, PyTorch semantics: batch statistics in
    training, running mean and unbiased running variance (``momentum``) used in eval."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(_filled((num_features,), 1.0, dtype)) if affine else None
        self.bias = Parameter(_filled((num_features,), 0.0, dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", _filled((num_features,), 0.0, dtype))
            self.register_buffer("running_var", _filled((num_features,), 1.0, dtype))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)

    def forward(self, x):
        return BatchNormFn.apply(x, self.weight, self.bias, *self._args(x.data))

    def _stage(self):
        return Stage(BatchNormFn, (self.weight, self.bias), self._args)

    def _args(self, data):
        shape = data.shape
        if len(shape) not in (2, 3) or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}): expected input (N, {self.num_features}) or "
                f"(N, {self.num_features}, L), got shape {tuple(shape)}"
            )
        training = self.training or self.running_mean is None
        if training and shape[0] * (shape[2] if len(shape) == 3 else 1) < 2:
            raise ValueError(f"BatchNorm1d: training needs more than one value per channel, got input shape {tuple(shape)}")
        return self.running_mean, self.running_var, training, self.momentum, self.eps

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` axes (report 000 §2.10)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(_filled(shape, 1.0, dtype)) if elementwise_affine else None
        self.bias = Parameter(_filled(shape, 0.0, dtype)) if elementwise_affine else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
