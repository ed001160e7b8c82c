"""A new namespace is one file and one registry line: a backend registered inside this test trains an
MLP through ``xn.fit`` with the same result as NumPy's; and no module outside the registry compares
backend names (a grep over the sources, so a comparison added back fails here)."""
from __future__ import annotations

import pathlib
import re
import types

import array_api_compat.numpy as compat_np
import numpy as np
import pytest

import xpnet as xn
from xpnet.backend import Backend, backend_for, ops, register, unregister

# ---------------------------------------------------------------- the "one file": a new namespace
# ``wrapnp``: NumPy behind an array type of its own (so arrays name their namespace themselves,
# as a real library's do), and the backend class for it, overriding nothing but ``load``.


class WArray:
    """A NumPy array in a box: every operation unwraps, runs NumPy, wraps."""

    __slots__ = ("_a",)

    def __init__(self, a):
        self._a = a

    def __array_namespace__(self, api_version=None):
        return wrapnp

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    device = property(lambda self: "cpu")
    T = property(lambda self: WArray(self._a.T))
    mT = property(lambda self: WArray(np.swapaxes(self._a, -1, -2)))

    def to_device(self, device, /, stream=None):
        return self

    def __dlpack__(self, **kw):
        return self._a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    def __repr__(self):
        return f"WArray({self._a!r})"

    for _n in ("float", "int", "bool", "index", "len"):
        locals()[f"__{_n}__"] = (lambda n: lambda self: getattr(self._a, f"__{n}__")())(_n)
    for _n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
               "lshift", "rshift", "lt", "le", "gt", "ge", "eq", "ne", "neg", "pos", "abs", "invert",
               "radd", "rsub", "rmul", "rtruediv", "rfloordiv", "rmod", "rpow", "rmatmul", "rand", "ror", "rxor"):
        locals()[f"__{_n}__"] = (lambda n: lambda self, *a: _wrap(getattr(self._a, f"__{n}__")(*map(_unwrap, a))))(_n)
    for _n in ("iadd", "isub", "imul", "itruediv", "ipow", "imatmul", "iand", "ior"):
        locals()[f"__{_n}__"] = (lambda n: lambda self, o: (setattr(self, "_a", getattr(self._a, f"__{n}__")(_unwrap(o))), self)[1])(_n)
    __hash__ = None


def _unwrap(v):
    if isinstance(v, WArray):
        return v._a
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(e) for e in v)
    return v


def _wrap(v):
    if isinstance(v, np.ndarray):
        return WArray(v)
    if isinstance(v, tuple):
        return tuple(_wrap(e) for e in v)
    if isinstance(v, list):
        return [_wrap(e) for e in v]
    return v


def _function(f):
    return lambda *a, **k: _wrap(f(*_unwrap(a), **{key: _unwrap(v) for key, v in k.items()}))


wrapnp = types.ModuleType("wrapnp")
for _name in dir(compat_np):
    _v = getattr(compat_np, _name)
    if _name.startswith("_") or isinstance(_v, types.ModuleType):
        continue
    setattr(wrapnp, _name, _v if isinstance(_v, type) or not callable(_v) else _function(_v))
wrapnp.__array_api_version__ = compat_np.__array_api_version__
wrapnp.__array_namespace_info__ = compat_np.__array_namespace_info__


class WrapBackend(Backend):
    """Everything generic (pure Array API; random numbers drawn on the host and moved)."""

    @classmethod
    def load(cls, device=None):
        return cls("wrapnp", wrapnp, "cpu", wrapnp)


# ---------------------------------------------------------------- the tests


@pytest.fixture
def wrap_backend():
    register("wrapnp", WrapBackend, namespaces=("wrapnp",))  # the one registry line
    try:
        yield xn.backend.load("wrapnp")
    finally:
        unregister("wrapnp")


def _train(backend):
    xn.manual_seed(0)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((96, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    with xn.use_backend(backend):
        model = xn.nn.Sequential(xn.nn.Linear(6, 16), xn.nn.GELU(), xn.nn.Linear(16, 3))
        opt = xn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        hist = xn.fit(model, (X, y), optimizer=opt, epochs=3, batch_size=16, seed=0, progress=False)
        out = model(xn.asarray(X))
        out = out.data if hasattr(out, "data") else out
        return hist, out, [xn.to_numpy(p.data) for p in model.parameters()]


def test_a_backend_registered_in_the_test_trains_like_numpy(wrap_backend):
    b = wrap_backend
    assert isinstance(b, WrapBackend) and b.name == "wrapnp"
    assert backend_for(wrapnp) is b and ops.single_device(wrapnp) is False
    hist, out, params = _train("wrapnp")
    assert type(out) is WArray  # the run really happened in the new namespace
    ref_hist, ref_out, ref_params = _train("numpy")
    assert type(ref_out) is np.ndarray
    np.testing.assert_allclose(hist.history["loss"], ref_hist.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(xn.to_numpy(out), ref_out, rtol=1e-4, atol=1e-5)
    for p, q in zip(params, ref_params):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5)
    assert hist.history["loss"][-1] < hist.history["loss"][0]  # it learnt


def test_the_new_backend_gets_the_generic_math(wrap_backend):
    xp = wrapnp
    idx = xn.asarray([0, 2, 0], backend="wrapnp")
    vals = xn.asarray([[1.0], [2.0], [3.0]], backend="wrapnp")
    np.testing.assert_array_equal(xn.to_numpy(ops.scatter_add(xp, 3, idx, vals)), [[4.0], [0.0], [2.0]])
    a = xn.asarray([[0.125, 0.875], [0.75, 0.25]], backend="wrapnp")
    np.testing.assert_array_equal(xn.to_numpy(ops.pick(xp, a, xn.asarray([1, 0], backend="wrapnp"))), [0.875, 0.75])
    assert ops.label_range(xp, idx) == (0, 2)
    x = xn.asarray(np.linspace(-3, 3, 13), backend="wrapnp")
    from scipy.special import erf

    np.testing.assert_allclose(xn.to_numpy(ops.erf(xp, x)), erf(np.linspace(-3, 3, 13)), atol=1e-6)
    assert ops.fast_kernels(xp, "gelu") is None
    moved = xn.to_device(x, "numpy")
    assert isinstance(moved, np.ndarray) and xn.to_device(moved, "wrapnp")._a.dtype == np.float32


def test_unregistered_names_are_refused_after_the_test(wrap_backend):
    unregister("wrapnp")
    with pytest.raises(ValueError, match="expected one of"):
        xn.backend.load("wrapnp")
    register("wrapnp", WrapBackend, namespaces=("wrapnp",))


def test_register_refuses_what_is_not_a_backend_class():
    with pytest.raises(TypeError, match="cls: expected a subclass"):
        register("bad", object)
    with pytest.raises(ValueError, match="name: expected"):
        register("bad:name", WrapBackend)


# ---------------------------------------------------------------- no backend names outside the registry

_NAMES = r"(?:numpy|cupy|torch|array_api_strict|cupy-standin)"
_COMPARISONS = [
    rf"(?:==|!=)\s*['\"]{_NAMES}['\"]",                       # x == "numpy"
    rf"['\"]{_NAMES}['\"]\s*(?:==|!=)",                       # "numpy" == x
    rf"\bin\s*[\(\[\{{][^\)\]\}}]*['\"]{_NAMES}['\"]",         # x in ("numpy", ...)
    rf"startswith\([^)]*['\"]{_NAMES}",                       # x.startswith("torch")
    rf"[\{{]\s*['\"]{_NAMES}['\"]\s*,\s*['\"]{_NAMES}['\"]",  # {"numpy", "cupy"}: a set of names to test against
]
# the table itself, and lines that compare something else than a backend (said why)
_ALLOWED_FILES = {"backend/registry.py"}
_ALLOWED_LINES = {
    ("bench/report.py", 'startswith("torch")'):
        "the label of the PyTorch peer in benchmark results, not an xpnet backend",
}


def _offenders(root: pathlib.Path):
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in _ALLOWED_FILES:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            allowed = any(rel == f and text in line for f, text in _ALLOWED_LINES)
            if any(re.search(p, code) for p in _COMPARISONS) and not allowed:
                found.append(f"{rel}:{n}: {line.strip()}")
    return found


def test_no_backend_name_comparison_outside_the_registry():
    root = pathlib.Path(xn.__file__).parent
    assert _offenders(root) == [], "ask the backend object (xpnet.backend.registry.backend_for(xp)) instead"


def test_the_name_grep_catches_a_comparison(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "backend").mkdir(parents=True)
    (pkg / "backend" / "registry.py").write_text('if name == "numpy": pass\n')
    (pkg / "a.py").write_text('if b.name == "cupy":\n    pass\nok = name in ("relu", "gelu")\n')
    (pkg / "b.py").write_text('if namespace_name(xp) in ("numpy", "torch"): pass\n_SAFE = {"numpy", "cupy"}\n')
    (pkg / "c.py").write_text('x = "numpy"  # a name, not a comparison\n# if b.name == "torch" (a comment)\n')
    assert [o.split(":")[0] + ":" + o.split(":")[1] for o in _offenders(pkg)] == ["a.py:1", "b.py:1", "b.py:2"]


# ---------------------------------------------------------------- the protocol stays closed


def test_library_files_override_only_protocol_members():
    """Each built-in backend class adds nothing public beyond the protocol of the generic one, so
    the generic backend stays the template a new library can follow."""
    from xpnet.backend import registry

    protocol = {n for n in dir(Backend) if not n.startswith("_")}
    for name in registry.KNOWN:
        cls = registry._CLASSES[name]
        extra = {n for n in vars(cls) if not n.startswith("_")} - protocol
        assert extra == set(), f"{cls.__name__} adds {sorted(extra)} outside the protocol of base.Backend"


def test_namespace_facts_the_engine_asks_for(backend):
    b = backend_for(backend.xp)
    assert b.single_device is (backend.name == "numpy")  # what Function.apply's device check skips
    assert b.supports_views is (backend.name in ("numpy", "cupy", "torch"))
    assert ops.single_device(backend.xp) is b.single_device


def test_fast_kernels_follow_the_fast_option(backend):
    xp = backend.xp
    with xn.config_context(fast=False):
        assert ops.fast_kernels(xp, "gelu") is None and ops.batchnorm_kernels(xp) is None
    with xn.config_context(fast=True):
        expected = backend_for(xp).fast_kernels("batchnorm")
        assert ops.batchnorm_kernels(xp) is expected
        assert (expected is not None) == (backend.name == "cupy")
