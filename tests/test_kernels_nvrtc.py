"""Every CUDA source xpnet ships compiles with NVRTC for sm_80 (A100) and sm_90 (H100), generated
the way CuPy generates it; a planted broken kernel fails the same check. No GPU needed: see
tests/nvrtc_check.py (run in a subprocess, where ``import cupy`` is the real CuPy, not the stand-in)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECK = ROOT / "tests" / "nvrtc_check.py"


def _run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(CHECK), *args], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=300)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    return r.returncode, rows, r.stderr


@pytest.fixture(scope="module")
def shipped():
    return _run()


def test_every_shipped_kernel_compiles_for_a100_and_h100(shipped):
    rc, rows, err = shipped
    assert not any("error" in r for r in rows), rows
    from xpnet.backend import fast_cupy

    assert rc == 0, [r for r in rows if not r.get("ok")] or err
    names = {r["kernel"] for r in rows}
    assert names == set(fast_cupy.ELEMENTWISE) | set(fast_cupy.RAW)
    for name in fast_cupy.ELEMENTWISE:  # 2 dtypes × 3 layouts × 2 archs each
        mine = [r for r in rows if r["kernel"] == name]
        assert len(mine) == 12 and {r["arch"] for r in mine} == {"sm_80", "sm_90"}
        assert all(r["ok"] and r["registers"] and r["spill_bytes"] == 0 for r in mine), mine


def test_a_planted_broken_kernel_fails_the_check():
    rc, rows, _ = _run("--plant")
    broken = [r for r in rows if r["kernel"] == "xpnet_planted_broken"]
    assert rc == 1 and broken and not any(r["ok"] for r in broken)
    assert "undefined_identifier" in broken[0]["log"] and "undefined" in broken[0]["log"]
    assert all(r["ok"] for r in rows if r["kernel"] != "xpnet_planted_broken")
