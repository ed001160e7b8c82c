"""NumPy target of the fusion pass: numba ``@njit`` loops (placeholder)."""
from __future__ import annotations


def available() -> bool:
    return False


def emit_numba(group):
    return None
