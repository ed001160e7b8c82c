"""The ``>>>`` examples in xpnet's docstrings are executed, one test per module.

``python -m pytest -q`` runs them (this file is in ``testpaths``), so an example that no longer matches
the code fails CI. Each module's examples run with :mod:`doctest` (``ELLIPSIS``, ``NORMALIZE_WHITESPACE``)
on NumPy in a fresh temporary working directory; the backend, its random stream, the default dtype and
the configuration are put back afterwards, so an example cannot leak state into the rest of the suite.
Modules are found by walking the ``xpnet`` folder (no import at collection) and each must import with
the test extras installed (``xpnet.sklearn`` needs scikit-learn; every other optional dependency is
imported inside the function that uses it).

Examples marked ``# doctest: +SKIP`` are not run (kept for what cannot run in CI: long trainings,
worker processes); ``test_owned_public_api_has_examples`` makes sure the workflow modules keep executed
examples on their public functions and classes.
"""
from __future__ import annotations

import doctest
import importlib
import inspect
import pathlib

import pytest

import xpnet as xn
from xpnet.backend import random as _random
from xpnet.options import get_config, set_config

ROOT = pathlib.Path(xn.__file__).resolve().parent


def _module_names():
    names = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


MODULES = _module_names()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.fixture
def clean_state(tmp_path, monkeypatch):
    """Run on NumPy (the default backend the examples are written for, whatever ``XPNET_BACKEND`` says)
    in an empty folder; put back the backend, its random stream, the default dtype and the config."""
    monkeypatch.chdir(tmp_path)
    config, backend = get_config(), xn.get_backend()
    numpy = xn.set_backend("numpy")
    stream = _random.get_state(numpy)
    yield
    _random.set_state(numpy, stream)
    set_config(**config)
    xn.set_backend(backend)


def _run_examples(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    tests = [t for t in finder.find(module, module.__name__) if t.examples]
    for test in sorted(tests, key=lambda t: t.name):
        out = []
        runner.run(test, out=out.append, clear_globs=True)
        report.extend(out)
    return runner.summarize(verbose=False), "".join(report)


def test_module_list_is_complete():
    """The walk finds the package, its subpackages and modules (a broken walk would test nothing)."""
    assert "xpnet" in MODULES and "xpnet.options" in MODULES and "xpnet.nn.modules.linear" in MODULES
    assert len(MODULES) == len(set(MODULES)) == sum(1 for _ in ROOT.rglob("*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, clean_state):
    module = importlib.import_module(name)
    result, report = _run_examples(module)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed:\n{report}"


def test_a_failing_example_is_reported(clean_state):
    """The runner used above does catch a wrong example (so a passing module means something)."""
    import types

    mod = types.ModuleType("fake_doctest_module")
    mod.__doc__ = ">>> 1 + 1\n3\n"
    result, report = _run_examples(mod)
    assert (result.attempted, result.failed) == (1, 1) and "Expected:" in report


# The workflow modules (owned by the docs) keep at least one executed example on every public function
# and class they export: the examples are the quickest documentation of the argument and return shapes.
OWNED = [
    "xpnet.metrics.classification", "xpnet.metrics.regression",
    "xpnet.preprocessing.scalers", "xpnet.preprocessing.split", "xpnet.preprocessing.encoding",
    "xpnet.preprocessing.augment", "xpnet.data.dataset", "xpnet.data.loader",
    "xpnet.datasets.loaders", "xpnet.datasets.regression", "xpnet.io", "xpnet.plotting", "xpnet.sklearn",
    "xpnet.train.callbacks", "xpnet.train.checkpoint", "xpnet.train.history", "xpnet.train.progress",
]  # xpnet.train.resume holds fit's internals: its example (checkpoint and resume) is in its module docstring


def _public_objects(module):
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for n in names:
        obj = getattr(module, n)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
            yield n, obj


def _examples_of(obj):
    tests = doctest.DocTestFinder(exclude_empty=True).find(obj, getattr(obj, "__name__", "x"))
    return sum(1 for t in tests for e in t.examples if not e.options.get(doctest.SKIP))


@pytest.mark.parametrize("name", OWNED)
def test_owned_public_api_has_examples(name):
    module = importlib.import_module(name)
    missing = [n for n, obj in _public_objects(module) if _examples_of(obj) == 0]
    assert not missing, f"{name}: public names without an executed >>> example: {missing}"
