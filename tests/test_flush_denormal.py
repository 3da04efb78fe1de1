"""set_flush_denormal: on x86-64 subnormal float results and inputs become zero on the calling
thread while it is on, and the default comes back when it is turned off."""

import platform

import numpy as np
import pytest

import torchlite


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="FTZ/DAZ are x86 control bits")
def test_subnormals_flush_to_zero_while_on():
    tiny = torchlite.tensor([1e-39], dtype=torchlite.float32)  # a float32 subnormal
    assert (tiny * 1.0).item() != 0.0
    try:
        assert torchlite.set_flush_denormal(True) is True
        assert (tiny * 1.0).item() == 0.0  # the input is read as 0
        small = torchlite.tensor([1e-30], dtype=torchlite.float32)
        assert (small * 1e-10).item() == 0.0  # a subnormal result is written as 0
        assert np.float32(1e-38) * np.float32(0.01) == 0.0  # NumPy on this thread too
    finally:
        assert torchlite.set_flush_denormal(False) is True
    assert (tiny * 1.0).item() != 0.0


def test_it_answers_whether_it_is_supported():
    supported = torchlite.set_flush_denormal(False)
    assert supported is (platform.machine().lower() in ("x86_64", "amd64"))
