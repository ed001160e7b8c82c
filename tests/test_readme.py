"""The README says true things: its Python blocks run as written, its tables are well formed, and it
documents every config key and every run-folder file."""
import os
import pathlib
import re
import subprocess
import sys

from xpnet.config import RUN_FILES, describe_keys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_python_blocks_run_as_written(tmp_path):
    blocks = python_blocks()
    assert len(blocks) >= 3
    script = tmp_path / "readme.py"
    script.write_text("\n\n".join(blocks))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("XPNET_BACKEND", None)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    assert "macro avg" in out.stdout and "\nTrue\n" in out.stdout  # load_run reproduces the accuracy
    assert (tmp_path / "runs" / "readme-example" / "model.npz").exists()


def test_tables_have_as_many_cells_in_every_row_as_in_their_header():
    rows = []
    for line in README.splitlines() + [""]:
        if line.startswith("|"):
            rows.append(line)
            continue
        if rows:
            cells = [len(re.split(r"(?<!\\)\|", r.strip().strip("|"))) for r in rows]
            assert len(set(cells)) == 1, rows[0] + " ... " + rows[cells.index(min(cells))]
        rows = []


def test_every_config_key_and_every_run_file_is_documented():
    """The README's config table is exactly the schema's (regenerate it with
    ``xpnet.config.schema.markdown_table()``), and every run-folder file is described."""
    from xpnet.config.schema import markdown_table

    assert markdown_table() in README
    assert not [k for k, *_ in describe_keys() if f"`{k}`" not in README]
    assert not [f for f in RUN_FILES if f"`{f}`" not in README]
