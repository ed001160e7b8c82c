"""Device operations per training step on xpnet's cupy path, counted on the CuPy stand-in, are capped
so they cannot creep up (W1 was 125 before the fused batch-norm kernels and the one-concat flat
gradient; the issue's target is ≤ 90). A planted regression (gradients copied into the flat buffer
one parameter at a time again) exceeds the cap. Counted in a subprocess, so the stand-in is used
even on a machine where the suite runs on a real GPU."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# the counts of the current code: raise only with a reason, lower them when a change saves operations
# +2 (issue 16): cross-entropy honours ignore_index=-100 on device labels, whose values cannot be read
# without a sync: a one-hot compare instead of the gather, and the count of non-ignored rows for the mean
CAPS = {"W1": 79, "W2": 62, "W3": 88, "W4": 79}
TARGET_W1 = 90

SCRIPT = r"""
import json, sys
from xpnet.bench import opcount
from xpnet.bench.workloads import WORKLOADS
if "--plant" in sys.argv:
    from xpnet.optim import flat
    def grad(self, owner):  # the old way: one copy per parameter into a kept flat buffer
        xp = self.xp
        if not hasattr(self, "_g"):
            self._g = xp.zeros_like(self.data)
            self._gv = [self._view(self._g, i) for i in range(len(self.params))]
        for p, gv in zip(self.params, self._gv):
            gv[...] = p.grad
        return self._g
    flat.FlatBucket.grad = grad
out = {n: opcount.count_xpnet(WORKLOADS[n]) for n in ("W1", "W2", "W3", "W4")}
print(json.dumps(out))
"""


def _counts(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def over_cap(counts):
    return {n: c["total"] for n, c in counts.items() if c["total"] > CAPS[n]}


@pytest.fixture(scope="module")
def counts():
    return _counts()


def test_device_ops_per_step_within_caps(counts):
    assert over_cap(counts) == {}, {n: (c["forward"], c["backward"], c["optimizer"]) for n, c in counts.items()}
    assert counts["W1"]["total"] <= TARGET_W1
    for c in counts.values():
        assert c["forward"] > 0 and c["backward"] > 0 and c["optimizer"] > 0
        assert c["host_reads"] == 0  # a training step reads nothing back from the device


def test_fused_kernels_run_on_the_cupy_path(counts):
    by = counts["W1"]["by_name"]
    for k in ("kernel:xpnet_gelu_fwd", "kernel:xpnet_gelu_bwd", "kernel:xpnet_bn_fwd", "kernel:xpnet_bn_bwd",
              "kernel:xpnet_bn_running"):
        assert by.get(k) == 2, (k, by)
    assert by.get("concatenate") == 1 and "setitem" not in by


def test_a_planted_per_parameter_copy_exceeds_the_cap(counts):
    planted = _counts("--plant")
    assert "W1" in over_cap(planted)
    assert planted["W1"]["by_name"].get("setitem") == 10
    assert planted["W1"]["total"] == counts["W1"]["total"] - 1 + 10  # one concat → ten copies


def test_bench_count_ops_writes_the_table_beside_pytorch(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "xpnet.cli.main", "bench", "--count-ops", "--workloads", "W1",
                        "--host-blocks", "2", "--out", str(tmp_path)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads((tmp_path / "ops.json").read_text(encoding="utf-8"))
    torch_w1 = data["W1"]["torch-eager-foreach"]
    assert torch_w1["total"] == torch_w1["forward"] + torch_w1["backward"] + torch_w1["optimizer"] > 0
    assert torch_w1["by_name"].get("forward:aten::addmm") == 3  # one per Linear: the profiler was read right
    assert any(k.startswith("optimizer:aten::_foreach_") for k in torch_w1["by_name"])
    md = (tmp_path / "ops.md").read_text(encoding="utf-8")
    assert f"**{data['W1']['xpnet-cupy']['total']}**" in md and "PyTorch eager" in md
    # the host time per step on this CPU, beside the counts: eager, compiled and PyTorch, measured
    host = data["W1"]["host_time"]
    assert set(host) == {"xpnet-numpy", "xpnet-numpy-compiled", "torch-cpu"}
    assert all(0 < t["train_us"]["min"] <= t["train_us"]["median"] for t in host.values())
    assert "| W1 | xpnet-numpy-compiled |" in md and "Host time per step" in md


def test_bench_count_ops_rejects_negative_host_blocks(tmp_path):
    from xpnet.bench import cli

    args = cli_args(["--count-ops", "--workloads", "W1", "--host-blocks", "-1", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--host-blocks.*-1"):
        cli.run(args)
    assert not (tmp_path / "ops.md").exists()


def cli_args(argv):
    import argparse

    from xpnet.bench import cli

    ap = argparse.ArgumentParser()
    cli.add_arguments(ap)
    return ap.parse_args(argv)
