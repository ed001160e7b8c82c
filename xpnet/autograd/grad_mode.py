"""Whether operations record a graph (thread-local, on by default)."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradMode:
    _value = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._value

    def __exit__(self, *exc):
        _state.enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager / decorator: operations inside record no graph (inference, optimiser steps)."""

    _value = False


class enable_grad(_GradMode):
    """Context manager / decorator: turn recording back on inside a ``no_grad`` block."""

    _value = True
