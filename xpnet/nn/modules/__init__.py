"""The layer classes; see :mod:`xpnet.nn` for the public names."""
from .activation import GELU, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import Flatten, Residual, Sequential
from .conv import AvgPool2d, Conv1d, Conv2d, Embedding, MaxPool1d, MaxPool2d
from .dropout import Dropout, Dropout1d, Dropout2d
from .linear import Linear
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .recurrent import GRU, LSTM, RNN
from .sequence import MultiheadAttention

__all__ = [
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "GRU", "LSTM", "Conv1d", "Conv2d", "CrossEntropyLoss", "Dropout", "Dropout1d", "Dropout2d", "Embedding", "Flatten", "GELU",
    "Identity", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool1d", "MaxPool2d", "Module",
    "MultiheadAttention", "NLLLoss", "RNN", "ReLU", "Residual", "Sequential", "Sigmoid", "Softmax", "Tanh",
]
