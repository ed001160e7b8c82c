"""Feature extractors for flat inputs read as a 1-D signal (a comparison of Linear vs
CNN vs RNN vs self-attention), each followed by the same MLP head as ``type = "mlp"``.

Built from config tables by :func:`xpnet.config.build_model` (``model.type``):

- ``cnn``: x (N, F) → (N, 1, F) → [Conv1d(k, padding k//2) → activation → MaxPool1d(2)] per entry of
  ``channels`` → flatten → head. (LeCun et al. 1998; Conv1d as PyTorch ``nn.Conv1d``.)
- ``rnn``: x (N, F) → (N, F/patch, patch) → Elman RNN (tanh, ``embed_dim`` units) → last hidden state
  → head. (Elman 1990; PyTorch ``nn.RNN``.)
- ``attention``: x (N, F) → (N, T = F/patch, patch) → Linear(patch, d) + learned position embedding →
  h + MultiheadAttention(h, h, h) (``heads`` heads) → LayerNorm → mean over T → head.
  (Vaswani et al. 2017, "Attention is all you need"; PyTorch ``nn.MultiheadAttention``.)
"""
from __future__ import annotations

from . import init as _init
from .modules.container import Flatten, Sequential
from .modules.conv import Conv1d, MaxPool1d
from .modules.linear import Linear, empty_parameter
from .modules.module import Module
from .modules.normalization import LayerNorm
from .modules.recurrent import RNN
from .modules.sequence import MultiheadAttention


def _patches(in_features: int, patch: int, name: str) -> int:
    if not isinstance(patch, int) or patch < 1 or in_features % patch:
        raise ValueError(f"model.patch: expected a positive divisor of the {in_features} input features for "
                         f"type = {name!r}, got {patch!r}")
    return in_features // patch


class ConvExtractor(Module):
    """(N, F) → Conv1d/activation/MaxPool1d stages → (N, channels[-1] · F / 2^stages)."""

    def __init__(self, in_features: int, channels=(16, 32), kernel_size: int = 5, activation=None):
        super().__init__()
        layers, c_in, length = [], 1, in_features
        for c in channels:
            layers += [Conv1d(c_in, c, kernel_size, padding=kernel_size // 2)]
            if activation is not None:
                layers.append(activation())
            if length >= 2:
                layers.append(MaxPool1d(2))
                length //= 2
            c_in = c
        layers.append(Flatten())
        self.body = Sequential(*layers)
        self.out_features = c_in * length

    def forward(self, x):
        return self.body(x.reshape(x.shape[0], 1, x.shape[1]))


class RNNExtractor(Module):
    """(N, F) → (N, T, patch) → RNN → last hidden state (N, embed_dim)."""

    def __init__(self, in_features: int, patch: int = 4, embed_dim: int = 64):
        super().__init__()
        self.steps = _patches(in_features, patch, "rnn")
        self.patch = patch
        self.rnn = RNN(patch, embed_dim, batch_first=True)
        self.out_features = embed_dim

    def forward(self, x):
        out, h = self.rnn(x.reshape(x.shape[0], self.steps, self.patch))
        return h.reshape(x.shape[0], self.out_features)


class AttentionExtractor(Module):
    """(N, F) → patches → embedding + position → one self-attention block with a residual → LayerNorm →
    mean over positions (N, embed_dim)."""

    def __init__(self, in_features: int, patch: int = 4, embed_dim: int = 32, heads: int = 4):
        super().__init__()
        self.steps = _patches(in_features, patch, "attention")
        self.patch = patch
        self.embed = Linear(patch, embed_dim)
        self.position = empty_parameter((self.steps, embed_dim))
        _init.normal_(self.position, 0.0, 0.02)
        self.attn = MultiheadAttention(embed_dim, heads, batch_first=True)
        self.norm = LayerNorm(embed_dim)
        self.out_features = embed_dim

    def forward(self, x):
        h = self.embed(x.reshape(x.shape[0], self.steps, self.patch)) + self.position
        a, _ = self.attn(h, h, h, need_weights=False)
        return self.norm(h + a).mean(axis=1)


class WithHead(Module):
    """A feature extractor followed by a head (the MLP blocks and the output layer)."""

    def __init__(self, features: Module, head: Module):
        super().__init__()
        self.features, self.head = features, head

    def forward(self, x):
        return self.head(self.features(x))
