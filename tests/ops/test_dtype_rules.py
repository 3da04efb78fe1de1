"""promote_types, result_type and can_cast as PyTorch answers them."""

import pytest

import torchlite as tl


def test_answers():
    assert tl.promote_types(tl.int32, tl.float16) == tl.float16
    assert tl.promote_types(tl.int8, tl.uint8) == tl.int16
    assert tl.result_type(tl.tensor([1]), 1.0) == tl.float32
    assert tl.result_type(tl.tensor([1.0], dtype=tl.float16),
                          tl.tensor(1.0, dtype=tl.float64)) == tl.float16
    assert tl.result_type(2, 3.0) == tl.float32
    assert not tl.can_cast(tl.float32, tl.int32) and tl.can_cast(tl.int32, tl.float32)
    assert tl.can_cast(tl.float64, tl.float32) and not tl.can_cast(tl.int64, tl.bool)


@pytest.mark.parity
def test_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        for b in names:
            assert str(tl.promote_types(getattr(tl, a), getattr(tl, b))).split(".")[-1] == \
                str(torch.promote_types(getattr(torch, a), getattr(torch, b))).split(".")[-1]
            assert tl.can_cast(getattr(tl, a), getattr(tl, b)) == \
                torch.can_cast(getattr(torch, a), getattr(torch, b))
