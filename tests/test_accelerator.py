"""torchlite.accelerator: PyTorch's device-agnostic accelerator calls, answered by the GPU."""

import pytest

import torchlite


def test_accelerator_agrees_with_cuda():
    acc = torchlite.accelerator
    assert acc.is_available() == torchlite.cuda.is_available()
    assert acc.device_count() == torchlite.cuda.device_count()
    if torchlite.cuda.is_available():
        assert acc.current_accelerator() == torchlite.device("cuda")
        assert acc.current_device_index() == torchlite.cuda.current_device()
        acc.synchronize()
    else:
        assert acc.current_accelerator() is None
        assert acc.current_accelerator(check_available=True) is None
        assert acc.device_count() == 0
        for call in (acc.current_device_index, acc.synchronize,
                     lambda: acc.set_device_index(0)):
            with pytest.raises(RuntimeError, match="none is available"):
                call()


def test_device_picking_idiom():
    acc = torchlite.accelerator
    device = acc.current_accelerator() if acc.is_available() else torchlite.device("cpu")
    x = torchlite.ones(3, device=device)
    assert x.device == device


@pytest.mark.parity
def test_accelerator_parity():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available() != torchlite.cuda.is_available():
        pytest.skip("torch and torchlite see different GPUs here")
    assert torchlite.accelerator.is_available() == torch.accelerator.is_available()
    assert torchlite.accelerator.device_count() == torch.accelerator.device_count()
    theirs = torch.accelerator.current_accelerator()
    ours = torchlite.accelerator.current_accelerator()
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert str(ours) == str(theirs).split(":")[0]
    if theirs is None:
        with pytest.raises(RuntimeError) as t:
            torch.accelerator.current_device_index()
        with pytest.raises(RuntimeError) as o:
            torchlite.accelerator.current_device_index()
        assert str(o.value) == str(t.value)
