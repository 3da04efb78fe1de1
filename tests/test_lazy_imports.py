"""`import torchlite` loads only what tensors and autograd need: the optional subpackages, the
whole-module save and the amp classes load on first attribute access, under the same names."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import torchlite

# modules a plain `torch.tensor([1.0])` never needs (the package names cover their submodules)
OPTIONAL = (
    "torchlite.amp.autocast_mode", "torchlite.amp.grad_scaler", "torchlite.amp.device_amp",
    "torchlite.ao", "torchlite.quantization", "torchlite.sparse", "torchlite.onnx",
    "torchlite.distributed", "torchlite.nn", "torchlite.optim", "torchlite.profiler",
    "torchlite.serialization", "torchlite._module_file", "torchlite._parallel",
    "torchlite.autograd.functional", "torchlite.special", "torchlite.training",
    "torchlite.utils", "torchlite.datasets",
    "scipy", "ml_dtypes", "onnx", "onnxruntime", "mpi4py", "numba", "threadpoolctl",
)
# what `import torchlite.nn` leaves for later
NN_OPTIONAL = ("torchlite.nn.parallel", "torchlite.nn.quantized", "torchlite.nn.intrinsic",
               "torchlite.nn.qat", "torchlite.ao", "torchlite.distributed")


def _loaded(code: str, names: tuple[str, ...]) -> list[str]:
    probe = (f"import json, sys\n{code}\nnames = {names!r}\n"
             "print(json.dumps(sorted(n for n in names if any(m == n or m.startswith(n + '.') "
             "for m in sys.modules))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_torchlite_leaves_the_optional_modules_unloaded():
    code = "import torchlite as torch\ntorch.tensor([1.0]) * 2"
    assert _loaded(code, OPTIONAL) == []


def test_import_torchlite_nn_leaves_parallel_and_quantized_unloaded():
    assert _loaded("import torchlite.nn, torchlite.nn.functional", NN_OPTIONAL) == []


@pytest.mark.parametrize(("name", "home"), [
    ("load", "torchlite.serialization"), ("save", "torchlite.serialization"),
    ("get_num_threads", "torchlite._parallel"), ("set_num_threads", "torchlite._parallel"),
    ("autocast", "torchlite.amp.autocast_mode"),
    ("is_autocast_enabled", "torchlite.amp.autocast_mode"),
    ("get_autocast_dtype", "torchlite.amp.autocast_mode"),
    ("is_autocast_available", "torchlite.amp.autocast_mode"),
    ("strided", "torchlite.sparse.layout"), ("sparse_coo", "torchlite.sparse.layout"),
    ("sparse_csr", "torchlite.sparse.layout"), ("layout", "torchlite.sparse.layout"),
])
def test_lazy_names_are_the_home_modules_objects(name, home):
    assert getattr(torchlite, name) is getattr(importlib.import_module(home), name)
    assert name in dir(torchlite)


@pytest.mark.parametrize("name", ["amp", "serialization", "sparse", "nn", "special", "onnx",
                                  "distributed", "ao", "cpu"])
def test_lazy_subpackages_are_attributes(name):
    assert getattr(torchlite, name) is importlib.import_module(f"torchlite.{name}")


def test_amp_names_load_on_use():
    from torchlite.amp.grad_scaler import GradScaler

    assert torchlite.amp.GradScaler is GradScaler
    assert {"autocast", "GradScaler", "custom_fwd"} <= set(dir(torchlite.amp))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        torchlite.amp.nope  # noqa: B018


def test_nn_parallel_names_load_on_use():
    from torchlite.nn.parallel import DataParallel, DistributedDataParallel

    assert torchlite.nn.DataParallel is DataParallel
    assert torchlite.nn.parallel.DistributedDataParallel is DistributedDataParallel


def test_device_amp_namespaces_import_before_their_classes_load():
    # in a fresh process: the first touch of each spelling loads the classes
    code = (
        "import sys, torchlite\n"
        "assert 'torchlite.amp.device_amp' not in sys.modules\n"
        "from torchlite.cuda.amp import GradScaler\n"
        "import torchlite.cuda.amp as ca, torchlite.cpu.amp as pa\n"
        "assert ca is torchlite.cuda.amp and ca.GradScaler is GradScaler\n"
        "assert GradScaler.__name__ == 'CudaGradScaler' and pa.autocast.__name__ == 'CpuAutocast'\n"
        "assert torchlite.cpu.amp is pa and '__getattr__' not in vars(ca)\n"
        "from torchlite.cuda.amp import *\n"
        "print(sorted(ca.__all__), autocast.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["['GradScaler',", "'autocast']", "CudaAutocast"]


def test_device_amp_namespace_refuses_unknown_names():
    with pytest.raises(AttributeError, match="torchlite.cuda.amp"):
        torchlite.cuda.amp.nope  # noqa: B018
