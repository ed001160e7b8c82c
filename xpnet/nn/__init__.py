"""Layers, losses, initialisers and their functional forms (``torch.nn`` names and semantics)."""
from . import functional, init
from .modules import (
    GELU, BatchNorm1d, CrossEntropyLoss, Dropout, Flatten, Identity, LayerNorm, LeakyReLU, Linear, LogSoftmax,
    Module, MSELoss, NLLLoss, ReLU, Residual, Sequential, Sigmoid, Softmax, Tanh,
)
from .parameter import Parameter

__all__ = [
    "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Flatten", "GELU", "Identity", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MSELoss", "Module", "NLLLoss", "Parameter", "ReLU", "Residual", "Sequential", "Sigmoid",
    "Softmax", "Tanh", "functional", "init",
]
