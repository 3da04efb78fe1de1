"""Every `xp.*`, `cp.*` and `cupy.*` name the library uses exists in the installed CuPy.

The library writes device-generic code against `xp` (NumPy or CuPy). NumPy has functions CuPy
lacks (CuPy before 14 had no `put_along_axis`, for example), and a CPU-only test run cannot
notice one creeping in. This reads the source, so it needs CuPy importable but no GPU; without
CuPy it is skipped. It is marked `gpu` so the GPU check runs it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import torchlite

pytestmark = pytest.mark.gpu

_ARRAY_MODULE_NAMES = ("xp", "cp", "cupy")


def _uses(root: Path):
    """(dotted name after the module, "file:line") for every attribute chain on xp/cp/cupy."""
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            chain, base = [], node
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in _ARRAY_MODULE_NAMES:
                yield tuple(reversed(chain)), f"{path.relative_to(root)}:{node.lineno}"


def test_the_scan_finds_uses():
    found = {chain for chain, _ in _uses(Path(torchlite.__file__).parent)}
    # names the GPU paths are known to use; if the scan stopped seeing them it checks nothing
    assert {("matmul",), ("ElementwiseKernel",), ("lib", "stride_tricks", "as_strided")} <= found


def test_every_name_exists_in_cupy():
    cupy = pytest.importorskip("cupy")
    missing = {}
    for chain, where in _uses(Path(torchlite.__file__).parent):
        obj = cupy
        for i, attr in enumerate(chain):
            if not hasattr(obj, attr):
                missing.setdefault(".".join(chain[: i + 1]), where)
                break
            obj = getattr(obj, attr)
    assert not missing, f"CuPy {cupy.__version__} lacks: " + ", ".join(
        f"cupy.{name} (used at {where})" for name, where in sorted(missing.items()))
