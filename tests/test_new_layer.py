"""Adding a layer touches three files (docs/architecture.md): a functional file, a module file, a test.
Proved by writing a new topic's two files into a copy of the package and using the layer through
``xn.nn`` and ``xn.nn.functional`` without editing any other file."""
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import xpnet

FUNCTIONAL = '''
from ...autograd.engine import Function, as_tensor

__all__ = ["square"]


class SquareFn(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def square(input):
    """y = x²."""
    return SquareFn.apply(as_tensor(input))
'''

MODULE = '''
from ..functional.square import square
from .module import Module

__all__ = ["Square"]


class Square(Module):
    def forward(self, x):
        return square(x)
'''

SCRIPT = '''
import numpy as np
import xpnet as xn
x = xn.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
y = xn.nn.Sequential(xn.nn.Square())(x)
y.sum().backward()
assert np.allclose(xn.to_numpy(y), [1, 4, 9]) and np.allclose(xn.to_numpy(x.grad), [2, -4, 6])
assert xn.nn.functional.square is not None and "Square" in xn.nn.__all__
print("ok")
'''


def test_a_new_layer_is_two_source_files(tmp_path):
    src = Path(xpnet.__file__).parent
    copy = tmp_path / "xpnet"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*.py")}
    (copy / "nn/functional/square.py").write_text(textwrap.dedent(FUNCTIONAL))
    (copy / "nn/modules/square.py").write_text(textwrap.dedent(MODULE))
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*.py")}
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {Path("nn/functional/square.py"), Path("nn/modules/square.py")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "XPNET_BACKEND": "numpy"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
