from .activation import GELU, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import Flatten, Residual, Sequential
from .dropout import Dropout
from .linear import Linear
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, LayerNorm
from .conv import AvgPool2d, Conv1d, Conv2d, Embedding, MaxPool1d, MaxPool2d
from .sequence import RNN, MultiheadAttention
