"""The one configuration object: xn.set_config / get_config / config_context."""
import threading

import numpy as np
import pytest

import xpnet as xn


def test_defaults_and_context_restore():
    before = xn.get_config()
    assert set(before) >= {"fast", "fuse", "compile", "default_dtype"}
    with xn.config_context(fuse=False, fast=False):
        assert xn.get_config()["fuse"] is False and xn.get_config()["fast"] is False
        with xn.config_context(fuse=True):
            assert xn.get_config()["fuse"] is True
        assert xn.get_config()["fuse"] is False
    assert xn.get_config() == before


def test_context_restores_on_exception():
    before = xn.get_config()
    with pytest.raises(RuntimeError):
        with xn.config_context(fuse=False):
            raise RuntimeError("boom")
    assert xn.get_config() == before


def test_bad_options_name_the_argument():
    with pytest.raises(TypeError, match="unknown option 'fusion'"):
        xn.set_config(fusion=False)
    with pytest.raises(TypeError, match="fuse must be a bool, got 'no'"):
        xn.config_context(fuse="no").__enter__()
    with pytest.raises(ValueError, match="default_dtype must be one of"):
        xn.set_config(default_dtype="int8")


def test_default_dtype_is_the_same_option():
    try:
        xn.set_default_dtype("float64")
        assert xn.get_config()["default_dtype"] == "float64"
        assert xn.tensor(np.ones(3)).dtype == xn.get_backend().xp.float64
    finally:
        xn.set_default_dtype("float32")
    with xn.config_context(default_dtype="float64"):
        assert xn.get_default_dtype() == "float64"
    assert xn.get_default_dtype() == "float32"


def test_context_is_per_thread():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def other():
        inside.wait(5)
        seen["other"] = xn.get_config()["fuse"]
        release.set()

    t = threading.Thread(target=other)
    t.start()
    with xn.config_context(fuse=False):
        inside.set()
        release.wait(5)
        seen["main"] = xn.get_config()["fuse"]
    t.join()
    assert seen == {"main": False, "other": True}


def test_fast_false_changes_the_path_not_the_numbers():
    x = np.random.default_rng(0).standard_normal((50, 7))
    with xn.use_backend("numpy"):
        a = xn.to_numpy(xn.nn.functional.gelu(xn.tensor(x)))
        with xn.config_context(fast=False):
            b = xn.to_numpy(xn.nn.functional.gelu(xn.tensor(x)))
    np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)
