"""Backend selection, device helpers, mixing rules, random numbers, dtype defaults."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import xpnet as xn
from xpnet.backend import BackendMismatchError, BackendUnavailableError


def test_default_backend_is_numpy():
    assert xn.get_backend().name == "numpy"


def test_env_var_selects_backend():
    code = "import xpnet as xn; print(xn.get_backend().name)"
    env = dict(os.environ, XPNET_BACKEND="array_api_strict")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "array_api_strict"


def test_set_backend_and_context_restore():
    prev = xn.get_backend()
    try:
        xn.set_backend("array_api_strict")
        assert xn.get_backend().name == "array_api_strict"
        with xn.use_backend("numpy"):
            assert xn.get_backend().name == "numpy"
        assert xn.get_backend().name == "array_api_strict"
    finally:
        xn.set_backend(prev)


def test_use_backend_is_thread_local():
    seen = {}

    def worker():
        seen["other"] = xn.get_backend().name

    with xn.use_backend("array_api_strict"):
        th = threading.Thread(target=worker)
        th.start()
        th.join()
        seen["here"] = xn.get_backend().name
    assert seen == {"other": "numpy", "here": "array_api_strict"}


def test_namespace_module_accepted():
    import array_api_strict

    with xn.use_backend(array_api_strict) as b:
        assert b.name == "array_api_strict"
        assert b.xp is array_api_strict


def test_unknown_backend_error_names_choices():
    with pytest.raises(ValueError, match="expected one of"):
        xn.set_backend("jaxx")


def test_available_backends_explains_missing_cupy():
    avail = xn.available_backends()
    assert avail["numpy"].startswith("available")
    try:
        import cupy  # noqa: F401

        has_gpu = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        has_gpu = False
    if not has_gpu:
        assert "cupy" in avail["cupy"] and ("not installed" in avail["cupy"] or "GPU" in avail["cupy"] or "CUDA" in avail["cupy"])
        with pytest.raises(BackendUnavailableError):
            xn.set_backend("cupy")


def test_asarray_default_float32_and_roundtrip(backend, xp):
    a = xn.asarray([[1.0, 2.0], [3.0, 4.0]])
    assert a.dtype == xp.float32
    assert xn.to_numpy(a).dtype == np.float32
    labels = xn.asarray([0, 1, 2])
    assert xp.isdtype(labels.dtype, "integral")
    np.testing.assert_array_equal(xn.to_numpy(a), [[1, 2], [3, 4]])
    assert xn.asarray(np.ones(3, dtype=np.float64)).dtype == xp.float32  # host floats: default dtype
    assert xn.asarray(np.ones(3), dtype="float64").dtype == xp.float64


@pytest.mark.parametrize("target", ["numpy", "torch", "array_api_strict", "array_api_strict:device1"])
def test_to_device_between_backends(backend, target):
    pytest.importorskip("torch")
    a = xn.asarray([[1.0, 2.0], [3.0, 4.0]])
    moved = xn.to_device(a, target)
    assert xn.backend.backend_of(moved).name == target.split(":")[0]
    np.testing.assert_array_equal(xn.to_numpy(moved), xn.to_numpy(a))


def test_mixing_backends_raises_naming_both():
    torch = pytest.importorskip("torch")
    a = xn.Tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    b = xn.Tensor(torch.ones((2, 2)))
    with pytest.raises(BackendMismatchError, match="numpy.*torch"):
        a + b
    with pytest.raises(BackendMismatchError, match="numpy.*torch"):
        a @ torch.ones((2, 2))


def test_mixing_devices_raises_naming_both():
    with xn.use_backend("array_api_strict"):
        a = xn.tensor([1.0, 2.0])
    with xn.use_backend("array_api_strict:device1"):
        b = xn.tensor([1.0, 2.0])
    with pytest.raises(BackendMismatchError, match="CPU_DEVICE.*device1"):
        a * b


def test_model_on_other_device_than_data_raises():
    with xn.use_backend("array_api_strict:device1"):
        model = xn.nn.Linear(2, 2)
    with xn.use_backend("array_api_strict"):
        x = xn.asarray([[1.0, 2.0]])
    with pytest.raises(BackendMismatchError, match="device1"):
        model(x)


def test_manual_seed_repeats(backend):
    from xpnet.backend.random import normal

    xn.manual_seed(123)
    a = xn.to_numpy(normal((5,)))
    xn.manual_seed(123)
    b = xn.to_numpy(normal((5,)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, xn.to_numpy(normal((5,))))


def test_set_default_dtype(backend, xp):
    xn.set_default_dtype("float64")
    try:
        assert xn.nn.Linear(2, 3).weight.dtype == xp.float64
    finally:
        xn.set_default_dtype("float32")
    assert xn.nn.Linear(2, 3).weight.dtype == xp.float32
    with pytest.raises(ValueError, match="set_default_dtype"):
        xn.set_default_dtype("int8")


def test_model_and_optimizer_move_between_backends():
    torch = pytest.importorskip("torch")
    xn.manual_seed(0)
    model = xn.nn.Sequential(xn.nn.Linear(3, 4), xn.nn.BatchNorm1d(4), xn.nn.ReLU(), xn.nn.Linear(4, 2))
    opt = xn.optim.Adam(model.parameters(), lr=0.01)
    x, y = xn.asarray(np.random.default_rng(0).normal(size=(8, 3))), xn.asarray(np.arange(8) % 2)
    xn.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    before = {k: xn.to_numpy(v).copy() for k, v in model.state_dict().items()}
    params = model.parameters()
    xn.to_device(model, "torch")
    xn.to_device(opt, "torch")
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # optimiser stays bound
    assert all(isinstance(v, torch.Tensor) for v in model.state_dict().values())
    assert all(isinstance(s["exp_avg"], torch.Tensor) for s in opt.state.values())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(xn.to_numpy(v), before[k])
    xt, yt = xn.to_device(x, "torch"), xn.to_device(y, "torch")
    opt.zero_grad()
    xn.nn.functional.cross_entropy(model(xt), yt).backward()
    opt.step()  # trains on the new backend
