"""The backend seam: dtypes, devices, array modules, CUDA availability and its error messages."""

import copy
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import torchlite
from torchlite import backend


def test_dtype_objects():
    assert repr(torchlite.float32) == "torch.float32" and torchlite.float32.name == "float32"
    assert torchlite.float32.is_floating_point and not torchlite.int64.is_floating_point
    assert torchlite.int8.is_signed and not torchlite.uint8.is_signed
    assert torchlite.float16.itemsize == 2 and torchlite.int64.itemsize == 8
    assert torchlite.bool.np == np.bool_
    assert torchlite.float is torchlite.float32 and torchlite.double is torchlite.float64
    assert torchlite.long is torchlite.int64 and torchlite.half is torchlite.float16
    assert torchlite.int is torchlite.int32 and torchlite.short is torchlite.int16
    assert copy.deepcopy(torchlite.float32) is torchlite.float32


@pytest.mark.parametrize(
    "spec, expected",
    [(torchlite.int16, torchlite.int16), (np.float64, torchlite.float64),
     (np.dtype("int32"), torchlite.int32), ("float16", torchlite.float16),
     ("long", torchlite.int64), ("double", torchlite.float64), (float, torchlite.float64),
     (int, torchlite.int64), (bool, torchlite.bool), ("bool", torchlite.bool)],
)
def test_to_dtype(spec, expected):
    assert backend.to_dtype(spec) is expected


def test_bad_dtypes_name_the_supported_ones():
    with pytest.raises(TypeError, match="float32"):
        backend.to_dtype("float128")
    with pytest.raises(TypeError, match="complex64.*supported"):
        backend.from_numpy_dtype(np.complex64)
    with pytest.raises(TypeError):
        backend.to_dtype(np.complex128)


def test_default_dtype():
    assert torchlite.get_default_dtype() is torchlite.float32
    try:
        torchlite.set_default_dtype(torchlite.float64)
        assert torchlite.tensor([1.0]).dtype == torchlite.float64
        assert torchlite.zeros(2).dtype == torchlite.float64
        assert (torchlite.tensor([1, 2]) / 2).dtype == torchlite.float64
        assert repr(torchlite.tensor([1.0])) == "tensor([1.])"
    finally:
        torchlite.set_default_dtype(torchlite.float32)
    with pytest.raises(TypeError, match="floating"):
        torchlite.set_default_dtype(torchlite.int64)


# --------------------------------------------------------------------------------------------
# devices


@pytest.mark.parametrize(
    "args, type_, index, text",
    [(("cpu",), "cpu", None, "cpu"), (("cuda",), "cuda", 0, "cuda:0"),
     (("cuda:1",), "cuda", 1, "cuda:1"), (("cuda", 2), "cuda", 2, "cuda:2"),
     ((3,), "cuda", 3, "cuda:3"), (("cpu", 0), "cpu", None, "cpu")],
)
def test_device_parsing(args, type_, index, text):
    d = torchlite.device(*args)
    assert d.type == type_ and d.index == index and str(d) == text
    assert d is torchlite.device(text)  # interned
    assert d == text and hash(d) == hash(torchlite.device(text))
    assert torchlite.device(d) is d


def test_device_repr_and_immutability():
    assert repr(torchlite.device("cpu")) == "device(type='cpu')"
    assert repr(torchlite.device("cuda:1")) == "device(type='cuda', index=1)"
    with pytest.raises(AttributeError):
        torchlite.device("cpu").type = "cuda"
    assert torchlite.device("cpu") != "cuda" and torchlite.device("cpu") != "nonsense"
    assert copy.deepcopy(torchlite.device("cuda:1")) is torchlite.device("cuda:1")


@pytest.mark.parametrize("spec, exc", [("tpu", RuntimeError), ("cuda:x", RuntimeError),
                                       ("cuda:-1", RuntimeError), (1.5, TypeError),
                                       (None, TypeError)])
def test_bad_device_specs(spec, exc):
    with pytest.raises(exc, match="device"):
        torchlite.device(spec)
    with pytest.raises(RuntimeError, match="twice"):
        torchlite.device("cuda:1", 1)


def test_cuda_queries_never_raise_without_gpu():
    available = torchlite.cuda.is_available()
    assert isinstance(available, bool)
    if available:
        pytest.skip("a GPU is present")
    assert torchlite.cuda.device_count() == 0
    assert backend.cuda_device_count() == 0
    backend.synchronize()  # a no-op without a GPU
    torchlite.cuda.synchronize()
    torchlite.cuda.manual_seed(3)
    assert torchlite.initial_seed() == 3


def test_asking_for_cuda_without_gpu_names_the_extras(cupy_missing):
    if torchlite.cuda.is_available():
        pytest.skip("a GPU is present")
    for call in (lambda: backend.to_device("cuda"), lambda: backend.xp_for(
            torchlite.device("cuda")), lambda: torchlite.cuda.current_device(),
            lambda: torchlite.cuda.device(0).__enter__(), lambda: torchlite.ones(1, device="cuda")):
        with pytest.raises(RuntimeError) as exc:
            call()
        msg = str(exc.value)
        assert "torchlite[cuda12]" in msg and "torchlite[cuda13]" in msg and "cupy" in msg


def test_cupy_without_a_usable_gpu_is_not_told_to_install_cupy(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", "CUDARuntimeError: cudaErrorNoDevice: no "
                        "CUDA-capable device is detected")
    with pytest.raises(RuntimeError) as exc:
        backend.xp_for(torchlite.device("cuda"))
    msg = str(exc.value)
    assert "cupy is installed but cannot use a GPU here" in msg and "cudaErrorNoDevice" in msg
    assert "pip install" not in msg


def test_array_modules_on_cpu():
    a = np.ones(2)
    assert backend.xp_for(backend.CPU) is np and backend.get_xp(a) is np
    assert backend.get_xp(3.0) is np
    assert backend.array_device(a) is backend.CPU and backend.array_device(np.float32(1)) is \
        backend.CPU
    assert backend.move(a, backend.CPU) is a
    assert backend.to_device(None) is backend.CPU and backend.to_device("cpu") is backend.CPU


def test_device_mix_check_in_function_apply():
    a = torchlite.ones(2)
    b = torchlite.ones(2)
    b._device = torchlite.device("cuda:1")  # a fake GPU tensor: only the device label matters
    with pytest.raises(RuntimeError, match=r"same device.*cpu.*cuda:1"):
        torchlite.ops.elementwise.Add.apply(a, b, np.dtype(np.float32))


def test_only_backend_imports_cupy():
    root = pathlib.Path(torchlite.__file__).parent
    pattern = re.compile(r"^\s*(import cupy|from cupy)", re.MULTILINE)
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "backend.py" and pattern.search(p.read_text())]
    assert offenders == []


def test_import_is_lazy():
    code = ("import sys, torchlite; torchlite.ones(2) + 1; "
            "print(sorted(m for m in ('cupy', 'torch', 'typer', 'rich', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=pathlib.Path(torchlite.__file__).parent.parent)
    assert out.stdout.strip() == "[]"
