"""The Colab notebook (benchmarks/colab_gpu.ipynb) executed top to bottom with nbclient on the CPU:
without a GPU it says so and runs every cell on NumPy in quick mode; the install cell is neutral here
(xpnet already imports) and prints the pip command a Colab user's route would run. A planted broken
cell fails the execution, so a rotting notebook fails CI."""
import json
import os
import pathlib
import shutil

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "benchmarks" / "colab_gpu.ipynb"


def _execute(nb, cwd, monkeypatch):
    monkeypatch.setenv("XPNET_INSTALL", "0")
    monkeypatch.setenv("XPNET_SOURCE", str(ROOT))
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if shutil.which("nvidia-smi") is None:
        monkeypatch.setenv("XPNET_NOTEBOOK_QUICK", "1")
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def _text(nb):
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            out.append(o.get("text", "") + json.dumps(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


@pytest.mark.slow
def test_colab_notebook_runs_top_to_bottom_on_the_cpu(tmp_path, monkeypatch):
    nb = _execute(nbformat.read(NOTEBOOK, as_version=4), tmp_path, monkeypatch)
    text = _text(nb)
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")  # every code cell ran
    if shutil.which("nvidia-smi") is None:
        assert "No GPU found: running every cell on NumPy in quick mode" in text
    assert "not installing" in text and "[plot,test]" in text  # neutral here, the Colab command shown
    assert "tests exit 0" in text
    assert (tmp_path / "results" / "colab.md").exists() and (tmp_path / "results" / "colab-ops.md").exists()
    assert "final validation accuracy" in text


def test_a_planted_broken_cell_fails_the_notebook(tmp_path, monkeypatch):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "set_backend(BACKEND)" in c.source)
    nb.cells[i].source = nb.cells[i].source.replace("set_backend(BACKEND)", "set_backend('no-such-backend')")
    nb.cells = nb.cells[: i + 1]  # stop after the planted cell: keep the check quick
    with pytest.raises(CellExecutionError, match="no-such-backend"):
        _execute(nb, tmp_path, monkeypatch)
