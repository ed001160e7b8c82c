"""``available_backends()`` and ``xpnet info`` say in one line why an installed CuPy cannot run (no
driver here; an old driver elsewhere). Run in a subprocess: the suite's own process holds the stand-in."""
import os
import pathlib
import subprocess
import sys
import types

from xpnet.backend import registry

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("XPNET_BACKEND", None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def _real_cupy_state():
    r = _run("-c", "import cupy\ntry:\n    print(cupy.cuda.runtime.getDeviceCount())\nexcept Exception as e:\n    print('no', e)")
    return r.stdout.strip()


def test_available_backends_and_info_say_why_in_one_line():
    state = _real_cupy_state()
    r = _run("-c", "import xpnet as xn; print(xn.available_backends()['cupy'])")
    line = r.stdout.strip()
    assert r.returncode == 0 and "\n" not in line
    info = _run("-m", "xpnet.cli.main", "info").stdout
    cupy_lines = [l for l in info.splitlines() if l.strip().startswith("cupy")]
    assert len(cupy_lines) == 1 and line in cupy_lines[0]
    if state.startswith("no"):  # this machine: CuPy installed, no driver
        assert "CuPy 14.2.0 is installed but no NVIDIA driver was found" in line
    else:
        assert line.startswith("available")


def test_an_old_driver_is_named():
    rt = types.SimpleNamespace(driverGetVersion=lambda: 11080, runtimeGetVersion=lambda: 12090)
    fake = types.SimpleNamespace(__version__="14.2.0", cuda=types.SimpleNamespace(runtime=rt))
    msg = registry._cuda_unusable(fake, RuntimeError("cudaErrorInsufficientDriver"))
    assert msg == ("backend 'cupy': CuPy 14.2.0 is installed (CUDA runtime 12.9) but the NVIDIA driver supports "
                   "CUDA 11.8 only: update the driver")
