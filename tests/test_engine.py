"""The autograd engine in one file (xpnet/autograd/engine.py): Tensor, Context, Function and the
backward pass together, the primitives gathered in xpnet/autograd/ops.py, no import cycle and no
module-level list as state."""
import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import xpnet as xn
from xpnet.autograd import engine, ops
from helpers import host

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_one_engine_and_the_old_import_paths():
    import xpnet.autograd.function as old_function
    from xpnet.tensor import Tensor, as_tensor

    public = sys.modules["xpnet.tensor"]  # (the attribute xpnet.tensor is the function xn.tensor)
    assert Tensor is public.Tensor and as_tensor is engine.as_tensor
    assert public.Tensor is engine.Tensor is xn.Tensor
    assert xn.Function is engine.Function is old_function.Function
    assert old_function.Context is engine.Context and old_function.run_backward is engine.run_backward
    assert xn.nn.Parameter.__mro__[1] is engine.Tensor
    assert xn.nn.functional.gelu(xn.tensor([0.0])).shape == (1,)
    assert xn.nn.functional.activation.GELUFn is ops.GELUFn  # the primitive, re-exported


@pytest.mark.parametrize("path", ["autograd/engine.py", "autograd/ops_activation.py", "autograd/ops_elementwise.py",
                                  "autograd/function.py", "tensor.py", "nn/fusion.py"])
def test_no_module_level_list_state_and_engine_free_of_nn(path):
    tree = ast.parse((ROOT / "xpnet" / path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, (ast.List, ast.Dict, ast.Set)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            assert names == ["__all__"], f"{path}: module-level mutable {names}"
    if path.startswith("autograd/") or path == "tensor.py":
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m.split(".")[0] == "nn" or ".nn" in m], imported


@pytest.mark.parametrize("module", ["xpnet.autograd.engine", "xpnet.autograd.ops", "xpnet.autograd.ops_activation",
                                    "xpnet.tensor", "xpnet.nn.fusion", "xpnet.nn.functional.activation",
                                    "xpnet.nn.modules.container"])
def test_each_module_imports_alone(module):
    out = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr


def test_tensor_methods_are_the_primitives(backend):
    x = xn.tensor(np.array([-1.5, 0.0, 2.0]), requires_grad=True)
    y = x.relu() + x.tanh()
    y.sum().backward()
    ref = np.array([-1.5, 0.0, 2.0])
    np.testing.assert_allclose(host(y), np.maximum(ref, 0) + np.tanh(ref), rtol=1e-6)
    np.testing.assert_allclose(host(x.grad), (ref > 0) + 1 - np.tanh(ref) ** 2, rtol=1e-6)
    assert y._node.fn is ops.Add and y._node.inputs[0]._node.fn is ops.ReLUFn


def test_function_needs_a_tensor_and_one_device():
    with pytest.raises(TypeError, match=r"Exp.apply: expected at least one Tensor"):
        ops.Exp.apply(np.ones(2))
    from xpnet.backend import BackendMismatchError, load

    a = xn.Tensor(load("array_api_strict").xp.ones(2))
    b = xn.Tensor(load("array_api_strict", "device1").xp.ones(2, device=load("array_api_strict", "device1").device))
    with pytest.raises(BackendMismatchError, match="device"):
        a + b


def test_custom_function_is_one_node_with_its_backward(backend):
    class Cube(xn.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 3 * a * a * g

    x = xn.tensor(np.array([1.0, -2.0]), requires_grad=True)
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(host(x.grad), [3.0, 12.0])
