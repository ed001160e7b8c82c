"""Only xpnet/backend/ may import array libraries; files that must touch the host say so."""
import ast
import pathlib

import xpnet

LIBRARIES = {"numpy", "cupy", "cupyx", "torch", "jax", "scipy", "array_api_strict"}


def test_only_backend_package_imports_array_libraries():
    root = pathlib.Path(xpnet.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] == "backend":
            continue
        text = path.read_text(encoding="utf-8")
        if any(line.startswith("# purity: host") for line in text.splitlines()[:30]):
            continue
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            offenders += [f"{rel}:{node.lineno} imports {n}" for n in names if n.split(".")[0] in LIBRARIES]
    assert offenders == []
