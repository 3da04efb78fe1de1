"""torchlite.backends: the cudnn / mps / cuda.matmul / mha switches of PyTorch's seeding and
device boilerplate, checked and read back (torchlite computes the same way whatever they say)."""

import subprocess
import sys

import pytest

import torchlite
import torchlite.backends.cudnn as cudnn


@pytest.fixture(autouse=True)
def _restore_flags():
    saved = (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32,
             torchlite.get_float32_matmul_precision(),
             torchlite.backends.mha.get_fastpath_enabled())
    yield
    (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32, prec,
     fast) = saved
    torchlite.set_float32_matmul_precision(prec)
    torchlite.backends.mha.set_fastpath_enabled(fast)


def test_the_usual_boilerplate_runs():
    torch = torchlite
    torch.manual_seed(0)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    device = torch.device("cuda" if torch.cuda.is_available()
                          else "mps" if torch.backends.mps.is_available() else "cpu")
    assert torch.backends.cudnn.deterministic is True and torch.backends.cudnn.benchmark is False
    assert torch.zeros(2, device=device).device == device


def test_cudnn_flags_defaults_and_checks():
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32) == (
        True, False, False, True)
    assert cudnn.is_available() is False and cudnn.version() is None
    cudnn.benchmark = True
    assert torchlite.backends.cudnn.benchmark is True  # one module, however it is reached
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        with pytest.raises(RuntimeError, match=f"set_{name}_cudnn expects a bool, but got int"):
            setattr(cudnn, name, 1)


def test_cudnn_flags_context_restores():
    cudnn.benchmark = True
    with cudnn.flags(enabled=False, deterministic=True):
        assert cudnn.enabled is False and cudnn.deterministic is True
        assert cudnn.benchmark is False  # flags() sets every flag (its defaults), as PyTorch's
    assert cudnn.enabled is True and cudnn.deterministic is False and cudnn.benchmark is True


def test_mps_is_never_available():
    assert torchlite.backends.mps.is_available() is False
    assert torchlite.backends.mps.is_built() is False


def test_cuda_matmul_allow_tf32_is_a_view_of_the_precision():
    matmul = torchlite.backends.cuda.matmul
    assert matmul.allow_tf32 is False and torchlite.get_float32_matmul_precision() == "highest"
    matmul.allow_tf32 = True
    assert torchlite.get_float32_matmul_precision() == "high"
    torchlite.set_float32_matmul_precision("highest")
    assert matmul.allow_tf32 is False
    torchlite.set_float32_matmul_precision("medium")
    assert matmul.allow_tf32 is True
    with pytest.raises(RuntimeError, match="expects a bool"):
        matmul.allow_tf32 = 1
    with pytest.raises(AttributeError, match="Unknown attribute foo"):
        matmul.foo = 1
    with pytest.raises(AttributeError, match="Unknown attribute foo"):
        _ = matmul.foo
    assert matmul.allow_fp16_reduced_precision_reduction is True
    assert isinstance(torchlite.backends.cuda.is_built(), bool)


def test_mha_fastpath_switch():
    mha = torchlite.backends.mha
    assert mha.get_fastpath_enabled() is True
    mha.set_fastpath_enabled(False)
    assert mha.get_fastpath_enabled() is False


def test_backends_is_imported_on_first_use():
    code = ("import sys, torchlite\n"
            "before = {'torchlite.backends', 'torchlite.accelerator'} & set(sys.modules)\n"
            "torchlite.backends.cudnn.benchmark = True\n"
            "print(bool(before), torchlite.accelerator.device_count() >= 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


@pytest.mark.parity
def test_backends_parity():
    torch = pytest.importorskip("torch")
    tc = torch.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32) == (
        tc.enabled, tc.benchmark, tc.deterministic, tc.allow_tf32)
    assert torchlite.backends.mps.is_available() == torch.backends.mps.is_available()
    saved = torch.get_float32_matmul_precision(), torch.backends.cuda.matmul.allow_tf32
    try:
        for value in (True, False):
            torch.backends.cuda.matmul.allow_tf32 = value
            torchlite.backends.cuda.matmul.allow_tf32 = value
            assert (torchlite.get_float32_matmul_precision()
                    == torch.get_float32_matmul_precision())
        for prec in ("medium", "high", "highest"):
            torch.set_float32_matmul_precision(prec)
            torchlite.set_float32_matmul_precision(prec)
            assert (torchlite.backends.cuda.matmul.allow_tf32
                    == torch.backends.cuda.matmul.allow_tf32)
        with pytest.raises(RuntimeError) as theirs:
            tc.deterministic = 1
        with pytest.raises(RuntimeError) as ours:
            cudnn.deterministic = 1
        assert str(ours.value) == str(theirs.value)
    finally:
        torch.set_float32_matmul_precision(saved[0])
        torch.backends.cuda.matmul.allow_tf32 = saved[1]
    assert (torchlite.backends.mha.get_fastpath_enabled()
            == torch.backends.mha.get_fastpath_enabled())
