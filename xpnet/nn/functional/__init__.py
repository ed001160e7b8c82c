"""Functional forms of the layers (PyTorch ``torch.nn.functional`` names)."""
from .activation import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .conv import avg_pool2d, conv1d, conv2d, max_pool1d, max_pool2d
from .dropout import dropout, dropout_mask, feature_dropout
from .embedding import embedding
from .linear import linear
from .loss import cross_entropy, mse_loss, nll_loss
from .normalization import batch_norm, layer_norm

__all__ = [
    "avg_pool2d", "conv1d", "conv2d", "max_pool1d", "max_pool2d",
    "batch_norm", "cross_entropy", "dropout", "dropout_mask", "embedding", "feature_dropout", "gelu", "layer_norm", "leaky_relu", "linear",
    "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]
