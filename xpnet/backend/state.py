"""The active backend: process default (``XPNET_BACKEND`` or numpy), overridable per thread."""
from __future__ import annotations

import contextlib
import os
import threading

from .registry import Backend, load

_local = threading.local()


class _Process:
    """The process-wide backend (None until first asked: resolved from ``XPNET_BACKEND``)."""

    backend: Backend | None = None


def _default() -> Backend:
    b = _Process.backend
    if b is None:
        spec = os.environ.get("XPNET_BACKEND", "numpy").strip() or "numpy"
        b = _Process.backend = load(spec)
    return b


def get_backend() -> Backend:
    """The active :class:`Backend` (``.name``, ``.xp``, ``.device``)."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else _default()


def set_backend(name, device=None) -> Backend:
    """Make ``name`` (``"numpy"``, ``"torch"``, ``"cupy"``, ``"array_api_strict"`` or a namespace module)
    the process-wide backend. Raises :class:`BackendUnavailableError` saying why it cannot be used."""
    b = _Process.backend = load(name, device)
    return b


@contextlib.contextmanager
def use_backend(name, device=None):
    """Scope a backend to a ``with`` block in this thread: ``with xn.use_backend("torch"): ...``."""
    b = load(name, device)
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(b)
    try:
        yield b
    finally:
        stack.pop()
