"""Sequence layers composed from the engine's operations: RNN and MultiheadAttention (PyTorch
parameter names, shapes and defaults, so weights load from and compare with PyTorch directly)."""
from __future__ import annotations

import math

from ...tensor import concat
from .. import functional as F
from .. import init as _init
from ..functional.linear import LinearFn
from .linear import Linear, empty_parameter
from .module import Module


class RNN(Module):
    """Elman RNN (PyTorch ``nn.RNN``): hₜ = act(xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh), act = tanh or
    relu, stacked ``num_layers`` deep. Input (L, N, H_in) or (N, L, H_in) with ``batch_first``;
    returns (output of the last layer at every step, h_n of shape (num_layers, N, H)). Weights
    U(±1/√hidden_size) as PyTorch."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        for layer in range(num_layers):
            fan = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_ih_l{layer}", empty_parameter((hidden_size, fan)))
            setattr(self, f"weight_hh_l{layer}", empty_parameter((hidden_size, hidden_size)))
            setattr(self, f"bias_ih_l{layer}", empty_parameter((hidden_size,)) if bias else None)
            setattr(self, f"bias_hh_l{layer}", empty_parameter((hidden_size,)) if bias else None)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            _init.uniform_(p, -bound, bound)

    def forward(self, x, h0=None):
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"RNN: expected input (L, N, {self.input_size}) (batch_first: (N, L, ...)), got {x.shape}")
        if self.batch_first:
            x = x.transpose(1, 0, 2)
        steps, n = x.shape[0], x.shape[1]
        act = F.tanh if self.nonlinearity == "tanh" else F.relu
        layer_in = [x[t, ...] for t in range(steps)]
        finals = []
        for layer in range(self.num_layers):
            w_ih, w_hh = getattr(self, f"weight_ih_l{layer}"), getattr(self, f"weight_hh_l{layer}")
            b_ih, b_hh = getattr(self, f"bias_ih_l{layer}"), getattr(self, f"bias_hh_l{layer}")
            h = None if h0 is None else h0[layer, ...]
            outs = []
            for xt in layer_in:
                z = LinearFn.apply(xt, w_ih, b_ih)
                if h is not None:
                    z = z + LinearFn.apply(h, w_hh, b_hh)
                elif b_hh is not None:
                    z = z + b_hh
                h = act(z)
                outs.append(h)
            finals.append(h.reshape(1, n, self.hidden_size))
            layer_in = outs
        out = concat([o.reshape(1, n, self.hidden_size) for o in layer_in], axis=0)
        if self.batch_first:
            out = out.transpose(1, 0, 2)
        return out, concat(finals, axis=0)

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"nonlinearity={self.nonlinearity!r}, batch_first={self.batch_first}")


class MultiheadAttention(Module):
    """Scaled dot-product attention over ``num_heads`` heads (Vaswani et al. 2017; PyTorch
    ``nn.MultiheadAttention``): Q = q W_qᵀ + b_q (K, V likewise, packed in ``in_proj_weight``),
    per head softmax(Q Kᵀ/√d + mask) V, heads joined and ``out_proj``. Inputs (L, N, E), or
    (N, L, E) with ``batch_first``; returns (output, attention weights averaged over heads)."""

    def __init__(self, embed_dim, num_heads, bias=True, batch_first=False):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.batch_first = embed_dim, num_heads, batch_first
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = empty_parameter((3 * embed_dim, embed_dim))
        self.in_proj_bias = empty_parameter((3 * embed_dim,)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        _init.xavier_uniform_(self.in_proj_weight)
        if bias:
            _init.zeros_(self.in_proj_bias)
            _init.zeros_(self.out_proj.bias)

    def _heads(self, x, length, n):
        # (L, N, E) → (N, heads, L, d)
        return x.reshape(length, n, self.num_heads, self.head_dim).transpose(1, 2, 0, 3)

    def forward(self, query, key, value, need_weights=True, attn_mask=None):
        if self.batch_first:
            query, key, value = (t.transpose(1, 0, 2) for t in (query, key, value))
        lq, n, e = query.shape
        lk = key.shape[0]
        w, b = self.in_proj_weight, self.in_proj_bias
        parts = []
        for i, x in enumerate((query, key, value)):
            wi = w[i * e:(i + 1) * e, :]
            bi = None if b is None else b[i * e:(i + 1) * e]
            parts.append(LinearFn.apply(x, wi, bi))
        q = self._heads(parts[0], lq, n) * (1.0 / math.sqrt(self.head_dim))
        k, v = self._heads(parts[1], lk, n), self._heads(parts[2], lk, n)
        scores = q @ k.transpose(0, 1, 3, 2)  # (N, heads, Lq, Lk)
        if attn_mask is not None:
            scores = scores + attn_mask
        attn = F.softmax(scores, -1)
        out = (attn @ v).transpose(2, 0, 1, 3).reshape(lq, n, e)
        out = self.out_proj(out)
        if self.batch_first:
            out = out.transpose(1, 0, 2)
        return out, (attn.mean(axis=1) if need_weights else None)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
