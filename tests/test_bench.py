"""The benchmark harness runs end to end (speed itself is measured by `xpnet bench`, not by tests)."""
import json

import numpy as np
import pytest

from xpnet.bench.reference_numpy import RefMLP, RefOptimizer, cross_entropy_grad
from xpnet.bench.workloads import WORKLOADS, build_xpnet
from xpnet.cli.main import main


def test_bench_quick_writes_table_json_png(tmp_path, capsys):
    rc = main(["bench", "--workloads", "W2", "--rows", "600", "--rounds", "2", "--out", str(tmp_path), "--name", "t"])
    assert rc == 0
    data = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    row = data["rows"][0]
    assert row["workload"] == "W2" and row["impl"] == "xpnet-numpy"
    assert row["train_vs_torch"] > 0 and row["train_vs_ref"] > 0 and len(data["results"]["W2"]["times"]["xpnet-numpy"]["train"]["runs"]) == 2
    assert "| W2 | xpnet-numpy |" in (tmp_path / "t.md").read_text(encoding="utf-8")
    assert (tmp_path / "t.png").stat().st_size > 0
    assert "blas" in data["meta"]["machine"]


def test_numpy_reference_matches_xpnet_gradients():
    """The hand-written floor computes the same function and gradients as the engine."""
    import xpnet as xn

    wl = WORKLOADS["W3"]
    xn.manual_seed(0)
    model = build_xpnet(wl.layers)
    model.eval()  # dropout off: both sides deterministic
    weights = [xn.to_numpy(p).copy() for p in model.parameters()]
    ref = RefMLP(wl.layers, weights, np.random.default_rng(0))
    ref.training = False
    r = np.random.default_rng(1)
    X, y = r.standard_normal((16, 128), dtype=np.float32), r.integers(0, 10, 16)
    z = ref.forward(X)
    loss, g = cross_entropy_grad(z, y)
    np.testing.assert_allclose(z, xn.to_numpy(model(xn.asarray(X))), rtol=1e-4, atol=1e-5)
    ours = xn.nn.functional.cross_entropy(model(xn.asarray(X)), xn.asarray(y))
    assert loss == np.float32(ours.item()) or abs(loss - ours.item()) < 1e-5
    RefOptimizer(ref, wl.optimizer)  # builds for the workload's optimiser


def test_colab_notebook_is_valid_and_its_python_compiles():
    import ast
    import pathlib

    nb = json.loads((pathlib.Path(__file__).parent.parent / "benchmarks" / "colab_gpu.ipynb").read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4 and nb["metadata"]["accelerator"] == "GPU"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert any('"bench", *bench_args' in "".join(c["source"]) and '["--backend", "cupy"]' in "".join(c["source"])
               for c in code)  # on a GPU: xpnet bench --backend cupy
    for c in code:
        python = "\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith("!"))
        ast.parse(python)


def test_host_step_times_interleaves_eager_compiled_and_reference():
    from xpnet.bench import steptime
    from xpnet.bench.workloads import WORKLOADS

    t = steptime.host_step_times(WORKLOADS["W3"], blocks=2, steps=2, with_torch=False)
    assert set(t) == {"xpnet-numpy", "xpnet-numpy-compiled", "numpy-handwritten"}
    for d in t.values():
        assert 0 < d["train_us"]["min"] <= d["train_us"]["median"]
        assert 0 < d["infer_ms"]["min"] <= d["infer_ms"]["median"]
    md = steptime.markdown({"W3": t}, "test")
    assert "| W3 | xpnet-numpy-compiled |" in md and "÷ torch" in md
    with pytest.raises(ValueError, match="blocks"):
        steptime.host_step_times(WORKLOADS["W3"], blocks=0)
