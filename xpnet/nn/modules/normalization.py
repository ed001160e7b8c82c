"""BatchNorm1d, BatchNorm2d and LayerNorm layers (PyTorch signatures and semantics)."""
from __future__ import annotations

from ...backend import get_backend
from ..functional import normalization as F
from ..parameter import Parameter
from .linear import check_bool, check_device, float_dtype, positive_int
from .module import Module


def _filled(shape, value, dtype=None, owner="layer"):
    b = get_backend()
    return b.xp.full(tuple(shape), value, dtype=float_dtype(owner, dtype), device=b.device)


def _check_eps(owner, eps):
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"{owner}: eps must be a positive number, got {eps!r}")
    return float(eps)


class _BatchNorm(Module):
    _dims = (2, 3)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        name = type(self).__name__
        positive_int(name, "num_features", num_features)
        for nm, v in (("affine", affine), ("track_running_stats", track_running_stats), ("bias", bias)):
            check_bool(name, nm, v)
        check_device(name, device)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, (int, float))
                                     or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"{name}: momentum must be a number in [0, 1] or None (cumulative average), "
                             f"got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, _check_eps(name, eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(_filled((num_features,), 1.0, dtype, name)) if affine else None
        self.bias = Parameter(_filled((num_features,), 0.0, dtype, name)) if affine and bias else None
        self.num_batches_tracked = 0
        if track_running_stats:
            self.register_buffer("running_mean", _filled((num_features,), 0.0, dtype, name))
            self.register_buffer("running_var", _filled((num_features,), 1.0, dtype, name))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)

    def _check_input_dim(self, shape):
        if len(shape) not in self._dims or shape[1] != self.num_features:
            want = " or ".join(f"(N, {self.num_features}{', L' if d == 3 else ''}{', H, W' if d == 4 else ''})"
                               for d in self._dims)
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input {want}, got shape {tuple(shape)}")

    def _momentum(self) -> float:
        """The momentum of this call; in training with running statistics, counts the batch (with
        ``momentum=None`` the factor is 1/t: a cumulative average over the t batches seen)."""
        momentum = self.momentum
        if self.training and self.running_mean is not None:
            self.__dict__["num_batches_tracked"] += 1  # a counter, not a structural change: no version bump
            if momentum is None:
                momentum = 1.0 / self.num_batches_tracked
        return 0.0 if momentum is None else momentum

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs, PyTorch semantics: batch statistics in
    training, running mean and unbiased running variance used in eval; r ← (1 − m)r + m·stat, with
    m = 1/t (cumulative average over the t batches seen) when ``momentum=None``. ``bias=False``
    drops β. Formula: Ioffe & Szegedy (2015); PyTorch ``nn.BatchNorm1d``.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance.
        momentum: factor m of the running statistics (None: cumulative average).
        affine: learn γ (weight) and β (bias).
        track_running_stats: keep running statistics for eval (else batch statistics always).

    Shape: (N, C) or (N, C, L) → the same shape.

    >>> import xpnet as xn
    >>> bn = xn.nn.BatchNorm1d(2)
    >>> y = bn(xn.tensor([[1.0, 10.0], [3.0, 30.0]]))
    >>> xn.to_numpy(y).round(3).tolist(), bn.num_batches_tracked
    ([[-1.0, -1.0], [1.0, 1.0]], 1)
    """

    def forward(self, input):
        self._check_input_dim(input.shape)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                            self._momentum(), self.eps)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W): statistics per channel over N, H and W (PyTorch
    ``nn.BatchNorm2d``); runs as BatchNorm1d on (N, C, H·W)."""

    _dims = (4,)

    def forward(self, input):
        self._check_input_dim(input.shape)
        n, c, h, w = input.shape
        y = F.batch_norm(input.reshape(n, c, h * w), self.running_mean, self.running_var, self.weight, self.bias,
                         self.training, self._momentum(), self.eps)
        return y.reshape(n, c, h, w)


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` axes (Ba et al. 2016; PyTorch
    ``nn.LayerNorm``), PyTorch signature; ``bias=False`` drops β."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        for d in shape:
            positive_int("LayerNorm", "normalized_shape", d)
        check_bool("LayerNorm", "elementwise_affine", elementwise_affine)
        check_bool("LayerNorm", "bias", bias)
        check_device("LayerNorm", device)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, _check_eps("LayerNorm", eps), elementwise_affine
        self.weight = Parameter(_filled(shape, 1.0, dtype, "LayerNorm")) if elementwise_affine else None
        self.bias = Parameter(_filled(shape, 0.0, dtype, "LayerNorm")) if elementwise_affine and bias else None

    def forward(self, input):
        x = input
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]
