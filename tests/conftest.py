"""Shared fixtures: every test that takes ``backend`` (or ``xp``) runs on every available namespace."""
from __future__ import annotations

import os

import pytest

from xpnet.bench.cupy_standin.select import cupy_namespace_entry

import xpnet as xn
from xpnet.backend import BackendUnavailableError, load

# (id, backend name, device): array_api_strict's second device proves the device rules without a GPU.
NAMESPACES = [
    ("numpy", "numpy", None),
    ("strict", "array_api_strict", None),
    ("strict-device1", "array_api_strict", "device1"),
    ("torch", "torch", None),
    cupy_namespace_entry(),  # ("cupy", ...) on a GPU; ("cupy-standin", ...) on the host stand-in otherwise
]
_selected = os.environ.get("XPNET_TEST_BACKENDS")
if _selected:
    NAMESPACES = [n for n in NAMESPACES if n[0] in _selected.split(",") or n[1] in _selected.split(",")]


@pytest.fixture(params=NAMESPACES, ids=[n[0] for n in NAMESPACES])
def backend(request):
    """The active :class:`xpnet.Backend` for the test (skipped, with the reason, when unavailable)."""
    _, name, device = request.param
    try:
        b = load(name, device)
    except BackendUnavailableError as e:
        pytest.skip(f"{name}: {e}")
    xn.manual_seed(0)
    with xn.use_backend(b):
        yield b


@pytest.fixture
def xp(backend):
    """The Array API namespace of the active backend."""
    return backend.xp


@pytest.fixture
def float64():
    xn.set_default_dtype("float64")
    yield
    xn.set_default_dtype("float32")


def pytest_terminal_summary(terminalreporter):
    """One line per skip (and xfail) reason, with the count, instead of one line per test
    (``-ra`` would list every CuPy test on a machine without a GPU)."""
    for key, label in (("skipped", "SKIPPED"), ("xfailed", "XFAIL")):
        reports = terminalreporter.stats.get(key, [])
        if not reports:
            continue
        counts: dict = {}
        for rep in reports:
            if key == "skipped" and isinstance(rep.longrepr, tuple):
                reason = str(rep.longrepr[2])
            else:
                reason = str(getattr(rep, "wasxfail", "") or rep.longrepr)
            reason = reason.removeprefix("Skipped: ")
            counts[reason] = counts.get(reason, 0) + 1
        terminalreporter.write_sep("=", f"{label} by reason")
        for reason, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{label} {n} test{'s' if n != 1 else ''}: {reason}")
