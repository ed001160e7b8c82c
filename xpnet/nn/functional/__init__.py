"""Functional forms of the layers (PyTorch ``torch.nn.functional`` names)."""
from .activation import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .dropout import dropout, dropout_mask
from .linear import linear
from .loss import cross_entropy, mse_loss, nll_loss
from .normalization import batch_norm, layer_norm

__all__ = [
    "batch_norm", "cross_entropy", "dropout", "dropout_mask", "gelu", "layer_norm", "leaky_relu", "linear",
    "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]
