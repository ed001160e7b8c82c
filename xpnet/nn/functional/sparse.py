"""Sparse functions (PyTorch ``torch.nn.functional`` "sparse functions"): the embedding lookup."""
from __future__ import annotations

from ...autograd.engine import as_tensor, data_of
from ...backend import describe, on_host
from ...backend.ops import is_integral, label_range


def embedding(input, weight):
    """Row ``i`` of ``weight`` for every integer index ``i`` in ``input``; the gradient of repeated
    indices adds up (scatter-add).

    Args:
        input: integer array or Tensor of any shape (*), values in 0..num_embeddings−1.
        weight: Tensor (num_embeddings, embedding_dim).

    Shape: (*) → (*, embedding_dim).

    >>> import xpnet as xn
    >>> w = xn.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    >>> xn.to_numpy(xn.nn.functional.embedding(xn.asarray([2, 0]), w)).tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    """
    weight = as_tensor(weight)
    idx = data_of(input)
    xp = weight.xp
    n, dim = weight.shape
    if not is_integral(xp, idx.dtype):
        raise TypeError(f"embedding: expected integer indices, got {describe(idx)}")
    flat = xp.reshape(idx, (-1,))
    if flat.shape[0] and on_host(flat):  # the range check reads values: only where that is free
        lo, hi = label_range(xp, flat)
        if lo < 0 or hi >= n:
            raise ValueError(f"embedding: indices must lie in 0..{n - 1}, got {lo}..{hi}")
    out = weight.take(flat, axis=0)
    return out.reshape(tuple(idx.shape) + (dim,))


__all__ = ["embedding"]
