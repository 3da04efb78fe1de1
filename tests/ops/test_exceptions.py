"""Errors raised with PyTorch's exception classes (and the class torchlite raised before)."""

import pytest

import torchlite

T = torchlite.tensor


def _calls(lib):
    ones = lib.ones
    long = lib.int64
    return {
        "einsum_sizes": (RuntimeError, lambda: lib.einsum("ij,jk->ik", ones(2, 3), ones(2, 3))),
        "einsum_letters": (RuntimeError, lambda: lib.einsum("ij", ones(2))),
        "einsum_output": (RuntimeError, lambda: lib.einsum("ij->k", ones(2, 3))),
        "matmul": (RuntimeError, lambda: ones(2, 3) @ ones(2, 3)),
        "mm": (RuntimeError, lambda: lib.mm(ones(2, 3), ones(2, 3))),
        "bmm": (RuntimeError, lambda: lib.bmm(ones(2, 3, 4), ones(2, 3, 4))),
        "rounding_mode": (RuntimeError, lambda: lib.div(ones(1), 1, rounding_mode="x")),
        "flip_repeated": (RuntimeError, lambda: lib.flip(ones(2), (0, 0))),
        "scatter_index_ndim": (RuntimeError,
                               lambda: ones(2, 3).scatter(0, lib.zeros(2, dtype=long), 1.0)),
        "scatter_index_vs_src": (RuntimeError,
                                 lambda: ones(2, 3).scatter(0, lib.zeros(1, 4, dtype=long),
                                                            ones(1, 3))),
        "scatter_out_of_bounds": (RuntimeError,
                                  lambda: ones(3).scatter(0, lib.tensor([5]), 1.0)),
        "sum_0d": (IndexError, lambda: lib.tensor(1.0).sum(1)),
        "mean_0d": (IndexError, lambda: lib.tensor(1.0).mean(-2)),
        "var_0d": (IndexError, lambda: lib.tensor(1.0).var(1)),
        "all_0d": (IndexError, lambda: lib.tensor(True).all(1)),
        "logsumexp_0d": (IndexError, lambda: lib.tensor(1.0).logsumexp(1)),
        "sort_0d": (IndexError, lambda: lib.tensor(1.0).sort(1)),
        "squeeze_0d": (IndexError, lambda: lib.tensor(1.0).squeeze(1)),
        "transpose_0d": (IndexError, lambda: lib.tensor(1.0).transpose(0, 1)),
        "flatten_0d": (IndexError, lambda: lib.tensor(1.0).flatten(0, 1)),
        "sum_dim": (IndexError, lambda: ones(2, 3).sum(2)),
        "narrow_0d": (RuntimeError, lambda: lib.tensor(1.0).narrow(0, 0, 1)),
        "chunk_0d": (RuntimeError, lambda: lib.tensor(1.0).chunk(1, 0)),
        "split_0d": (RuntimeError, lambda: lib.tensor(1.0).split(1, 0)),
        "roll_no_dims": (RuntimeError, lambda: lib.roll(ones(2), (1, 2))),
        "roll_lengths": (RuntimeError, lambda: lib.roll(ones(2), (1, 2), (0,))),
        "bitwise_float": (NotImplementedError, lambda: ones(2) & 1),
        "logaddexp_int": (NotImplementedError, lambda: lib.logaddexp(lib.tensor([1]),
                                                                      lib.tensor([1]))),
    }


CASES = sorted(_calls(torchlite))


@pytest.mark.parametrize("case", CASES)
def test_exception_class(case):
    cls, call = _calls(torchlite)[case]
    with pytest.raises(cls):
        call()


def test_the_former_classes_still_catch():
    with pytest.raises(ValueError):
        torchlite.einsum("ij,jk->ik", torchlite.ones(2))
    with pytest.raises(ValueError, match="rounding_mode"):
        torchlite.div(T([1.0]), 1, rounding_mode="x")
    with pytest.raises(TypeError):
        torchlite.bitwise_not(torchlite.ones(2))


def test_0d_takes_dims_minus_one_and_zero():
    x = T(2.0)
    for d in (0, -1):
        assert x.sum(d).item() == 2.0 and x.flip(d).item() == 2.0 and x.roll(1, d).item() == 2.0
        assert x.amax(d).item() == 2.0 and x.movedim(d, 0).item() == 2.0
        assert x.transpose(d, 0).item() == 2.0 and x.flatten(d).shape == (1,)


@pytest.mark.parity
@pytest.mark.parametrize("case", CASES)
def test_same_class_as_pytorch(case):
    torch = pytest.importorskip("torch")
    cls, call = _calls(torch)[case]
    with pytest.raises(cls):
        call()
