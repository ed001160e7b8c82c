"""MultiheadAttention composed from the engine's operations (PyTorch parameter names, shapes and
defaults, so weights load from and compare with PyTorch directly)."""
from __future__ import annotations

import math

from ...tensor import Tensor, concat
from .. import functional as F
from .. import init as _init
from ..functional.linear import LinearFn
from .linear import Linear, check_bool, check_device, empty_parameter, positive_int
from .module import Module


class MultiheadAttention(Module):
    """Scaled dot-product attention over ``num_heads`` heads (Vaswani et al. 2017; PyTorch
    ``nn.MultiheadAttention``, same positional order): Q = q W_qᵀ + b_q (K, V likewise, packed in
    ``in_proj_weight``, or ``q/k/v_proj_weight`` when ``kdim``/``vdim`` differ from ``embed_dim``),
    per head softmax(Q Kᵀ/√d + mask) V with ``dropout`` on the weights, heads joined and ``out_proj``.
    ``add_bias_kv`` appends learnt ``bias_k``/``bias_v`` to the key/value sequence, ``add_zero_attn`` a
    zero step. Masks: boolean True = not allowed (−inf), float = added; ``attn_mask`` (Lq, Lk) or
    (N·heads, Lq, Lk), ``key_padding_mask`` (N, Lk). Inputs (L, N, E), (N, L, E) with ``batch_first``,
    or unbatched (L, E); returns (output, attention weights averaged over heads unless
    ``average_attn_weights=False``)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        name = "MultiheadAttention"
        positive_int(name, "embed_dim", embed_dim)
        positive_int(name, "num_heads", num_heads)
        for nm, v in (("bias", bias), ("add_bias_kv", add_bias_kv), ("add_zero_attn", add_zero_attn),
                      ("batch_first", batch_first)):
            check_bool(name, nm, v)
        check_device(name, device)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        self.kdim = embed_dim if kdim is None else positive_int(name, "kdim", kdim)
        self.vdim = embed_dim if vdim is None else positive_int(name, "vdim", vdim)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.embed_dim, self.num_heads, self.batch_first = embed_dim, num_heads, batch_first
        self.dropout, self.add_zero_attn = float(dropout), add_zero_attn
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty_parameter((3 * embed_dim, embed_dim), dtype, name)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = empty_parameter((embed_dim, embed_dim), dtype, name)
            self.k_proj_weight = empty_parameter((embed_dim, self.kdim), dtype, name)
            self.v_proj_weight = empty_parameter((embed_dim, self.vdim), dtype, name)
        self.in_proj_bias = empty_parameter((3 * embed_dim,), dtype, name) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = empty_parameter((1, 1, embed_dim), dtype, name)
            self.bias_v = empty_parameter((1, 1, embed_dim), dtype, name)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's: xavier_uniform projections, zero biases, xavier_normal bias_k/bias_v."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                _init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            _init.zeros_(self.in_proj_bias)
            _init.zeros_(self.out_proj.bias)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                _init.xavier_normal_(b)

    def _heads(self, x, length, n):
        # (L, N, E) → (N, heads, L, d)
        return x.reshape(length, n, self.num_heads, self.head_dim).transpose(1, 2, 0, 3)

    def _additive(self, mask, name, dtype, xp):
        """A float mask to add to the scores: boolean True → −inf, float as given."""
        data = mask.data if isinstance(mask, Tensor) else mask
        if data.dtype == xp.bool:
            neg = xp.full(data.shape, -math.inf, dtype=dtype, device=getattr(data, "device", None))
            return xp.where(data, neg, xp.zeros_like(neg))
        if not xp.isdtype(data.dtype, "real floating"):
            raise TypeError(f"MultiheadAttention: {name} must be boolean (True = masked) or float (added to the "
                            f"scores), got dtype {data.dtype}")
        return data if data.dtype == dtype else xp.astype(data, dtype)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        query, key, value = (t if isinstance(t, Tensor) else Tensor(t) for t in (query, key, value))
        if is_causal and attn_mask is None:
            raise ValueError("MultiheadAttention: is_causal=True is a hint that needs attn_mask as well (as PyTorch); "
                             "pass the causal attn_mask")
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.reshape(t.shape[0], 1, t.shape[1]) for t in (query, key, value))
            if key_padding_mask is not None:
                kd = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else key_padding_mask
                key_padding_mask = query._xp.reshape(kd, (1, kd.shape[0]))
        elif self.batch_first:
            query, key, value = (t.transpose(1, 0, 2) for t in (query, key, value))
        if query.ndim != 3 or query.shape[2] != self.embed_dim:
            raise ValueError(f"MultiheadAttention: expected query (L, N, {self.embed_dim}) (batch_first: (N, L, ...)) "
                             f"or unbatched (L, {self.embed_dim}), got {tuple(query.shape)}")
        lq, n, e = query.shape
        xp, dt = query._xp, query.dtype
        wdt = self.out_proj.weight.dtype
        if any(t.dtype != wdt for t in (query, key, value)):
            raise TypeError(f"MultiheadAttention: input dtypes {query.dtype}/{key.dtype}/{value.dtype} differ from the "
                            f"weight dtype {wdt}; convert the data or the model instead of mixing precisions")
        b = self.in_proj_bias
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            ws = [w[i * e:(i + 1) * e, :] for i in range(3)]
        else:
            ws = [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight]
        parts = [LinearFn.apply(x, ws[i], None if b is None else b[i * e:(i + 1) * e])
                 for i, x in enumerate((query, key, value))]
        q, k, v = parts
        am = None if attn_mask is None else self._additive(attn_mask, "attn_mask", dt, xp)
        kpm = None if key_padding_mask is None else self._additive(key_padding_mask, "key_padding_mask", dt, xp)
        if self.bias_k is not None:
            k = concat([k, self.bias_k * xp.ones((1, n, 1), dtype=dt, device=getattr(query.data, "device", None))], 0)
            v = concat([v, self.bias_v * xp.ones((1, n, 1), dtype=dt, device=getattr(query.data, "device", None))], 0)
            am, kpm = _pad_last(xp, am), _pad_last(xp, kpm)
        lk = k.shape[0]
        q = self._heads(q, lq, n) * (1.0 / math.sqrt(self.head_dim))
        k, v = self._heads(k, lk, n), self._heads(v, lk, n)
        if self.add_zero_attn:
            z = xp.zeros((n, self.num_heads, 1, self.head_dim), dtype=dt, device=getattr(query.data, "device", None))
            k, v = concat([k, z], axis=2), concat([v, z], axis=2)
            am, kpm = _pad_last(xp, am), _pad_last(xp, kpm)
            lk += 1
        scores = q @ k.transpose(0, 1, 3, 2)  # (N, heads, Lq, Lk)
        if am is not None:
            if am.ndim == 2:
                am = xp.reshape(am, (1, 1, lq, lk))
            elif am.ndim == 3:
                am = xp.reshape(am, (n, self.num_heads, lq, lk))
            scores = scores + am
        if kpm is not None:
            scores = scores + xp.reshape(kpm, (n, 1, 1, lk))
        attn = F.softmax(scores, -1)
        if self.dropout and self.training:
            attn = F.dropout(attn, self.dropout, True)
        out = (attn @ v).transpose(2, 0, 1, 3).reshape(lq, n, e)
        out = self.out_proj(out)
        weights = None
        if need_weights:
            weights = attn.mean(axis=1) if average_attn_weights else attn
            if unbatched:
                weights = weights.reshape(tuple(weights.shape[1:]))
        if unbatched:
            out = out.reshape(lq, e)
        elif self.batch_first:
            out = out.transpose(1, 0, 2)
        return out, weights

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


def _pad_last(xp, mask):
    """One more key position, not masked (0), for a float mask."""
    if mask is None:
        return None
    pad = xp.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype, device=getattr(mask, "device", None))
    return xp.concat([mask, pad], axis=-1)


__all__ = ["MultiheadAttention"]
