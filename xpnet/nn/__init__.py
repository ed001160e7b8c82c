"""Layers, losses, initialisers and their functional forms (``torch.nn`` names and semantics)."""
from . import functional, init
from .modules import (
    AvgPool2d, GRU, LSTM, Conv1d, Conv2d, Embedding, MaxPool1d, MaxPool2d, RNN, MultiheadAttention,
    GELU, BatchNorm1d, BatchNorm2d, CrossEntropyLoss, Dropout, Dropout1d, Dropout2d, Flatten, Identity, LayerNorm, LeakyReLU, Linear, LogSoftmax,
    Module, MSELoss, NLLLoss, ReLU, Residual, Sequential, Sigmoid, Softmax, Tanh,
)
from .parameter import Parameter

__all__ = [
    "AvgPool2d", "GRU", "LSTM", "Conv1d", "Conv2d", "Embedding", "MaxPool1d", "MaxPool2d", "MultiheadAttention", "RNN",
    "BatchNorm1d", "BatchNorm2d", "CrossEntropyLoss", "Dropout", "Dropout1d", "Dropout2d", "Flatten", "GELU", "Identity", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MSELoss", "Module", "NLLLoss", "Parameter", "ReLU", "Residual", "Sequential", "Sigmoid",
    "Softmax", "Tanh", "functional", "init",
]
