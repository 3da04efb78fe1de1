"""The Tensor class: metadata, conversions, autograd attributes, in-place methods, legacy API."""

import ast
import copy
import inspect
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
from _core_checks import data, leaf, to_np

import torchlite
from torchlite import _tensor_methods


def test_metadata(device):
    t = torchlite.tensor(np.arange(6.0).reshape(2, 3), dtype=torchlite.float32, device=device)
    assert t.dtype == torchlite.float32 and t.dtype is torchlite.float32
    assert t.device == torchlite.device(device) and str(t.device) == (
        "cpu" if device == "cpu" else "cuda:0")
    assert t.shape == (2, 3) and t.size() == (2, 3) and t.size(1) == 3 and t.size(-2) == 2
    assert isinstance(t.shape, torchlite.Size) and repr(t.shape) == "torch.Size([2, 3])"
    assert t.shape.numel() == 6 and t.shape[1:] == torchlite.Size([3])
    assert t.ndim == 2 and t.dim() == 2 and t.numel() == 6 and len(t) == 2
    assert t.element_size() == 4 and t.is_floating_point() and t.is_cuda == (device == "cuda")
    assert t.is_contiguous() and not t.t().is_contiguous()
    assert t.stride() == (3, 1) and t.t().stride() == (1, 3) and t.stride(0) == 3
    assert t.requires_grad is False and t.grad is None and t.grad_fn is None and t.is_leaf
    with pytest.raises(IndexError, match="size"):
        t.size(2)
    assert torchlite.numel(t) == 6 and torchlite.is_tensor(t) and not torchlite.is_tensor(3)


def test_numpy_shares_memory_and_refuses_grad():
    t = torchlite.zeros(3)
    a = t.numpy()
    a[0] = 4.0
    assert t[0].item() == 4.0
    t.add_(1.0)
    assert a[1] == 1.0
    r = leaf([1.0])
    with pytest.raises(RuntimeError, match="detach"):
        r.numpy()
    assert r.detach().numpy().tolist() == [1.0]
    assert np.asarray(torchlite.ones(2)).tolist() == [1.0, 1.0]


def test_item_tolist_and_python_conversions():
    assert torchlite.tensor(2.5).item() == 2.5 and isinstance(torchlite.tensor(3).item(), int)
    assert torchlite.tensor([[7]]).item() == 7
    with pytest.raises(RuntimeError, match="2 elements"):
        torchlite.ones(2).item()
    assert torchlite.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert torchlite.tensor(1.5).tolist() == 1.5
    assert float(torchlite.tensor([2.0])) == 2.0 and int(torchlite.tensor(3.7)) == 3
    assert bool(torchlite.tensor([1])) and not bool(torchlite.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(torchlite.ones(2))
    assert [10, 20, 30][torchlite.tensor(1)] == 20
    with pytest.raises(TypeError):
        [1, 2][torchlite.tensor(1.0)]
    assert f"{torchlite.tensor(0.123456):.2f}" == "0.12"
    with pytest.raises(TypeError, match="0-d"):
        len(torchlite.tensor(1.0))


def test_iteration_and_containment():
    t = torchlite.tensor([[1, 2], [3, 4]])
    rows = list(t)
    assert len(rows) == 2 and rows[1].tolist() == [3, 4]
    assert [r.tolist() for r in reversed(t)] == [[3, 4], [1, 2]]
    assert 3 in t and 5 not in t
    with pytest.raises(TypeError, match="0-d"):
        iter(torchlite.tensor(1.0))


def test_hash_is_identity_and_tensors_work_as_dict_keys():
    a, b = torchlite.ones(2), torchlite.ones(2)
    d = {a: 1, b: 2}
    assert d[a] == 1 and d[b] == 2 and len({a, b}) == 2


def test_detach_clone_data():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    d[0] = 5.0  # shares memory (and the version counter) with x
    assert x[0].item() == 5.0 and d._version == x._version
    c = x.clone()
    assert c.requires_grad and c.grad_fn.name() == "CloneBackward0"
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    with torchlite.no_grad():
        c2 = x.clone()
    c2[1] = -1.0
    assert x[1].item() == 2.0
    dd = x.data
    assert not dd.requires_grad
    dd[1] = 3.0
    assert x[1].item() == 3.0
    x.data = torchlite.zeros(2, dtype=torchlite.float64)
    assert x.tolist() == [0.0, 0.0] and x.requires_grad
    y = x * 2
    y.detach_()
    assert y.grad_fn is None and not y.requires_grad


def test_requires_grad_rules():
    t = torchlite.ones(2)
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad = False
    assert not t.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        torchlite.tensor([1, 2]).requires_grad_()
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    assert not (torchlite.ones(2) * 2).requires_grad


@pytest.mark.parametrize(
    "method, dtype",
    [("float", torchlite.float32), ("double", torchlite.float64), ("half", torchlite.float16),
     ("long", torchlite.int64), ("int", torchlite.int32), ("bool", torchlite.bool),
     ("short", torchlite.int16), ("byte", torchlite.uint8), ("char", torchlite.int8)],
)
def test_cast_methods(method, dtype):
    t = torchlite.tensor([0.0, 1.7, -2.2])
    r = getattr(t, method)()
    assert r.dtype == dtype
    np.testing.assert_array_equal(to_np(r), np.array([0.0, 1.7, -2.2], np.float32).astype(dtype.np))


def test_to_and_cpu(device):
    t = torchlite.ones(2)
    assert t.to(torchlite.float32) is t and t.to("cpu") is t and t.cpu() is t
    assert t.to(torchlite.float64).dtype == torchlite.float64
    assert t.to(dtype=torchlite.int64).dtype == torchlite.int64
    assert t.to(device, torchlite.float64).dtype == torchlite.float64
    assert t.to(torchlite.ones(1, dtype=torchlite.float16)).dtype == torchlite.float16
    assert t.to(float).dtype == torchlite.float64 and t.to(int).dtype == torchlite.int64
    assert t.to(np.float64).dtype == torchlite.float64
    c = t.to(torchlite.float32, copy=True)
    assert c is not t and c.tolist() == t.tolist()
    assert t.type() == "torch.FloatTensor" and t.type(torchlite.int64).dtype == torchlite.int64
    assert t.type_as(torchlite.tensor([1])).dtype == torchlite.int64
    moved = t.to(device)
    assert str(moved.device) == str(torchlite.device(device)) and moved.tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="to"):
        t.to(foo=1)


def test_to_keeps_gradient_flowing():
    x = leaf([1.0, 2.0], dtype=torchlite.float32)
    y = x.to(torchlite.float64) * 3
    assert y.dtype == torchlite.float64
    y.sum().backward()
    assert x.grad.dtype == torchlite.float32 and x.grad.tolist() == [3.0, 3.0]


def test_cuda_methods_without_gpu(cupy_missing):
    if torchlite.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match=r"cuda12.*cuda13"):
        torchlite.ones(1).cuda()
    with pytest.raises(RuntimeError, match="cuda12"):
        torchlite.ones(1).to("cuda:0")


def test_contiguous():
    t = torchlite.tensor(data((2, 3)))
    assert t.contiguous() is t
    c = t.t().contiguous()
    assert c.is_contiguous() and to_np(c).tolist() == to_np(t).T.tolist()


def test_new_factories():
    t = torchlite.ones(2, dtype=torchlite.float64)
    assert t.new_zeros(3).dtype == torchlite.float64 and t.new_zeros((2, 2)).shape == (2, 2)
    assert t.new_ones(1, 2).shape == (1, 2) and t.new_empty(4).shape == (4,)
    assert t.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert t.new_tensor([1, 2]).dtype == torchlite.float64


# --------------------------------------------------------------------------------------------
# in-place methods


def test_inplace_methods(device):
    t = torchlite.tensor([1.0, -2.0, 3.0], device=device)
    assert t.add_(1) is t and t.tolist() == [2.0, -1.0, 4.0]
    t.sub_(torchlite.tensor([1.0, 1.0, 1.0], device=device))
    assert t.tolist() == [1.0, -2.0, 3.0]
    t.mul_(2).div_(4)
    assert t.tolist() == [0.5, -1.0, 1.5]
    t.clamp_(-0.5, 1.0)
    assert t.tolist() == [0.5, -0.5, 1.0]
    t.add_(torchlite.ones(3, device=device), alpha=2)
    assert t.tolist() == [2.5, 1.5, 3.0]
    t.copy_(torchlite.tensor([7, 8, 9], device=device))
    assert t.tolist() == [7.0, 8.0, 9.0] and t.dtype == torchlite.float32
    t.copy_(torchlite.tensor(1.0))  # broadcasts
    assert t.tolist() == [1.0, 1.0, 1.0]
    t.fill_(4)
    assert t.tolist() == [4.0] * 3
    t.zero_()
    assert t.tolist() == [0.0] * 3
    t += 2
    t *= 3
    t -= 1
    t /= 5
    assert t.tolist() == [1.0, 1.0, 1.0]
    torchlite.manual_seed(0)
    t.uniform_(2, 3)
    assert all(2 <= v < 3 for v in t.tolist())
    t.normal_(0, 1e-6)
    assert all(abs(v) < 1e-4 for v in t.tolist())
    assert t.dtype == torchlite.float32


def test_inplace_dtype_and_shape_rules():
    i = torchlite.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(1.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i /= 2
    i.mul_(3)
    assert i.tolist() == [3, 6] and i.dtype == torchlite.int64
    f = torchlite.ones(2)
    f.add_(torchlite.tensor([1, 2]))
    assert f.dtype == torchlite.float32
    with pytest.raises(RuntimeError, match=r"\[2\].*\[2, 2\]"):
        f.add_(torchlite.ones(2, 2))


def test_inplace_records_graph_on_nonleaf():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    y.mul_(x)
    y.clamp_(max=3.0)
    y.sum().backward()
    assert y.tolist() == [1.0, 3.0] and x.grad.tolist() == [2.0, 0.0]
    assert y.grad_fn.name() == "ClampBackward1"  # PyTorch's name for number bounds
    z = torchlite.zeros(2, dtype=torchlite.float64)  # a plain tensor takes a history in place
    z.add_(x)
    assert z.requires_grad and not z.is_leaf


# --------------------------------------------------------------------------------------------
# legacy constructor, copy and pickle


def test_legacy_constructor():
    a = torchlite.Tensor([3])
    assert a.dtype == torchlite.float32 and a.tolist() == [3.0]
    src = np.array([1, 2], dtype=np.int64)
    b = torchlite.Tensor(src)
    src[0] = 100
    assert b.dtype == torchlite.float32 and b.tolist() == [1.0, 2.0]
    c = torchlite.Tensor(2, 3)
    assert c.shape == (2, 3) and c.dtype == torchlite.float32
    assert torchlite.Tensor(torchlite.Size([4])).shape == (4,)
    assert torchlite.Tensor().shape == (0,)
    assert torchlite.Tensor(torchlite.tensor([1, 2])).dtype == torchlite.float32
    with pytest.raises(TypeError, match="Tensor"):
        torchlite.Tensor(2, -1)
    assert isinstance(torchlite.ones(1), torchlite.Tensor)


def test_deepcopy_and_pickle():
    x = leaf([1.0, 2.0])
    x.grad = torchlite.ones(2, dtype=torchlite.float64)
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.grad.tolist() == [1.0, 1.0]
    y.detach()[0] = 9.0
    assert x[0].item() == 1.0
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(x * 2)
    with pytest.raises(TypeError, match="torchlite.save"):
        pickle.dumps(torchlite.ones(2))


# --------------------------------------------------------------------------------------------
# repr (layout details are tested in tests/test_format.py)


def test_repr_suffixes():
    assert repr(torchlite.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(leaf([0.1, 0.2], dtype=torchlite.float32)) == \
        "tensor([0.1000, 0.2000], requires_grad=True)"
    x = leaf([1.0, 2.0], dtype=torchlite.float32)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(torchlite.tensor([1, 2], dtype=torchlite.int32)) == \
        "tensor([1, 2], dtype=torch.int32)"
    assert repr(torchlite.tensor([1.0], dtype=torchlite.float64)) == \
        "tensor([1.], dtype=torch.float64)"
    assert str(torchlite.tensor(3)) == "tensor(3)"


def test_format_of_a_scalar_tensor_is_the_number():
    assert f"{torchlite.tensor(0.25)}" == "0.25"
    assert f"{torchlite.tensor(0.25):.1f}" == "0.2"
    assert f"{torchlite.tensor([1.0, 2.0])}" == "tensor([1., 2.])"


# --------------------------------------------------------------------------------------------
# the method mixins: what editors and type checkers see is what runs


def test_every_mixin_method_is_installed_on_tensor_as_the_same_object():
    found = _tensor_methods.methods()
    assert {"add", "__add__", "__radd__", "sum", "view", "T", "to", "float", "add_", "fill_",
            "backward", "__getitem__", "masked_fill_"} <= set(found)
    for name, value in found.items():
        assert inspect.getattr_static(torchlite.Tensor, name) is value, name
        assert inspect.getattr_static(_tensor_methods.TensorMethods, name) is value, name
    # the core defines what the mixins do not (no name is defined twice)
    core = {n for n, v in vars(torchlite.Tensor).items() if n not in found}
    assert {"requires_grad", "shape", "detach", "numpy", "__init__"} <= core
    a, b = torchlite.ones(1), torchlite.ones(1)
    assert hash(a) == hash(a) != hash(b)  # by identity, though == compares elementwise


def test_tensor_module_sits_below_autograd_and_the_ops():
    # tensor.py imports neither autograd nor the method mixins at run time (only for type
    # checking), so autograd/function.py can import Tensor directly: no import cycle to dodge
    root = Path(torchlite.__file__).parent
    tree = ast.parse((root / "tensor.py").read_text())
    runtime = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            runtime.append(node.module or "")
    assert not [m for m in runtime if m.split(".")[0] in ("autograd", "_tensor_methods")]
    for path in (root / "autograd").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lazy = [n for n in ast.walk(node) if isinstance(n, ast.ImportFrom)
                        and n.module in ("tensor", "views")]
                assert lazy == [], f"{path.name}: {node.name} imports {lazy[0].module} lazily"


def test_type_checkers_see_the_tensor_methods(tmp_path):
    # the py.typed marker ships with the package, so that mypy reads an installed torchlite
    root = Path(torchlite.__file__).resolve().parents[1]
    assert (root / "torchlite" / "py.typed").is_file()
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in package_data["package-data"]["torchlite"]
    pytest.importorskip("mypy")
    snippet = tmp_path / "use_tensor.py"
    snippet.write_text(
        "import torchlite\n"
        "x: torchlite.Tensor = torchlite.ones(2, 3)\n"
        "y = (x + 1).view(6).sum().to('cpu').float().unsqueeze(0).T\n"
        "x.add_(y.mean()).clamp_(0, 1)\n"
        "x.backward()\n"
        "reveal_type(x.reshape(3, 2))\n"
        "reveal_type(x.add_)\n"
        "x.not_a_method()\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary",
         "--cache-dir", str(tmp_path / "cache"), str(snippet)],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(root)},  # (an editable install hides it from mypy)
    ).stdout
    lines = [line.split(": ", 1)[1] for line in out.splitlines()]
    assert lines[0] == 'note: Revealed type is "torchlite.tensor.Tensor"', out
    assert lines[1].startswith("note: Revealed type is \"def (other"), out
    assert lines[2:] == ['error: "Tensor" has no attribute "not_a_method"  [attr-defined]'], out
