"""The legacy typed constructors (torchlite.LongTensor, ...) and Tensor.type()."""

import numpy as np
import pytest

import torchlite
import torchlite as torch
from torchlite.errors import DeviceUnavailableError

NAMES = {"FloatTensor": torch.float32, "DoubleTensor": torch.float64, "HalfTensor": torch.float16,
         "LongTensor": torch.int64, "IntTensor": torch.int32, "ShortTensor": torch.int16,
         "CharTensor": torch.int8, "ByteTensor": torch.uint8, "BoolTensor": torch.bool}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_constructors_build_their_dtype(name):
    cls = getattr(torch, name)
    data = cls([1, 0, 1])
    assert type(data) is torchlite.Tensor and data.dtype == NAMES[name]
    assert data.tolist() == torch.tensor([1, 0, 1], dtype=NAMES[name]).tolist()
    sized = cls(2, 3)
    assert tuple(sized.shape) == (2, 3) and sized.dtype == NAMES[name]
    assert not sized.to(torch.float32).abs().sum().item()  # zeros where PyTorch is uninitialised
    assert tuple(cls(torch.Size([4, 1])).shape) == (4, 1)
    empty = cls()
    assert tuple(empty.shape) == (0,) and empty.dtype == NAMES[name]
    assert isinstance(data, cls) and data.type() == f"torch.{name}"
    assert cls.dtype == NAMES[name] and cls.is_cuda is False


def test_data_sequences_and_tensors():
    assert torch.FloatTensor((2, 3)).tolist() == [2.0, 3.0]  # a tuple is data, a Size is sizes
    assert torch.LongTensor([1.7, -2.2]).tolist() == [1, -2]
    assert torch.FloatTensor(np.arange(3)).tolist() == [0.0, 1.0, 2.0]
    t = torch.ones(2)
    assert torch.FloatTensor(t) is t  # the same tensor, as PyTorch aliases it
    with pytest.raises(TypeError, match="LongTensor"):
        torch.LongTensor(t)
    with pytest.raises(TypeError):
        torch.LongTensor(2, dtype=torch.float32)


def test_isinstance_follows_dtype_and_device():
    x = torch.ones(2)
    assert isinstance(x, torch.FloatTensor) and not isinstance(x, torch.LongTensor)
    assert isinstance(x.long(), torch.LongTensor) and not isinstance(x, torch.cuda.FloatTensor)
    assert not isinstance([1.0], torch.FloatTensor)
    fake = torch.ones(2)
    fake._device = torch.device("cuda:0")  # only the device label matters for the check
    assert isinstance(fake, torch.cuda.FloatTensor) and not isinstance(fake, torch.FloatTensor)
    assert fake.type() == "torch.cuda.FloatTensor"


def test_type_casts():
    x = torch.tensor([1.5, -2.0])
    assert x.type() == "torch.FloatTensor"
    assert x.type(torch.LongTensor).tolist() == [1, -2]
    assert x.type(torch.LongTensor).dtype == torch.int64
    assert x.type("torch.DoubleTensor").dtype == torch.float64
    assert x.type("torchlite.IntTensor").dtype == torch.int32
    assert x.type(torch.float16).dtype == torch.float16
    assert x.type(torch.FloatTensor) is x  # nothing to change
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.NoSuchTensor")


def test_cuda_types_without_a_gpu():
    if torch.cuda.is_available():
        y = torch.cuda.FloatTensor([1.0, 2.0])
        assert y.is_cuda and y.dtype == torch.float32 and isinstance(y, torch.cuda.FloatTensor)
        assert torch.ones(2).type("torch.cuda.LongTensor").is_cuda
        return
    with pytest.raises(DeviceUnavailableError, match="CUDA"):
        torch.cuda.FloatTensor(2)
    with pytest.raises(DeviceUnavailableError, match="CUDA"):
        torch.ones(2).type(torch.cuda.LongTensor)
    assert repr(torch.cuda.LongTensor) == "<class 'torch.cuda.LongTensor'>"
    with pytest.raises(AttributeError):
        torch.cuda.NoSuchTensor  # noqa: B018


@pytest.mark.parity
def test_parity_with_pytorch():
    pt = pytest.importorskip("torch")
    for name in NAMES:
        ours, theirs = getattr(torch, name)([0, 1, 2]), getattr(pt, name)([0, 1, 2])
        assert ours.type() == theirs.type()
        assert ours.tolist() == theirs.tolist()
        assert tuple(getattr(torch, name)(2, 3).shape) == tuple(getattr(pt, name)(2, 3).shape)
        assert ours.type(torch.DoubleTensor).tolist() == theirs.type(pt.DoubleTensor).tolist()
    ours, theirs = torch.ones(2).type("torch.LongTensor"), pt.ones(2).type("torch.LongTensor")
    assert ours.type() == theirs.type()
