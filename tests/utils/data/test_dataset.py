import numpy as np
import pytest

import torchlite
from torchlite.utils.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    getbatch_of,
    random_split,
)


class Squares(Dataset):
    """Per-item only (no fast path)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self):
        return self.n


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def test_base_classes():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        iter(IterableDataset())
    both = Squares(2) + Squares(3)
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(5)] == [0, 1, 0, 1, 4]
    chained = Stream([1, 2]) + Stream([3])
    assert isinstance(chained, ChainDataset) and list(chained) == [1, 2, 3]
    assert len(chained) == 3


def test_tensor_dataset_items():
    x = torchlite.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    y = torchlite.tensor([3, 1, 4, 1])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert isinstance(xi, torchlite.Tensor) and isinstance(yi, torchlite.Tensor)
    assert xi.tolist() == [6.0, 7.0, 8.0]
    assert tuple(yi.shape) == () and yi.item() == 4 and yi.dtype == torchlite.int64
    assert ds[-1][1].item() == 1
    assert ds[np.int64(0)][0].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(IndexError):
        ds[4]


def test_tensor_dataset_accepts_numpy_and_batches():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.array([0, 1, 0, 1, 1])
    ds = TensorDataset(x, y)
    assert all(isinstance(t, torchlite.Tensor) for t in ds.tensors)
    assert np.shares_memory(ds.tensors[0].numpy(), x)  # wrapped, not copied
    bx, by = ds.__getbatch__(np.array([4, 0, 2]))
    np.testing.assert_array_equal(bx, x[[4, 0, 2]])
    np.testing.assert_array_equal(by, [1, 0, 0])
    assert getbatch_of(ds) is not None


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="Tensor or NumPy"):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.zeros((), dtype=np.float32))


def test_subset():
    base = TensorDataset(np.arange(10, dtype=np.int64) * 10)
    sub = Subset(base, [7, 2, 5])
    assert len(sub) == 3
    assert sub[0][0].item() == 70
    assert [t[0].item() for t in sub.__getitems__([2, 0])] == [50, 70]
    (batch,) = sub.__getbatch__(np.array([1, 2]))
    np.testing.assert_array_equal(batch, [20, 50])
    assert getbatch_of(sub) is not None
    sub.indices = [1]  # reassigning the indices is seen by the fast path
    np.testing.assert_array_equal(sub.__getbatch__(np.array([0]))[0], [10])
    plain = Subset(Squares(5), [4, 3])
    assert getbatch_of(plain) is None
    assert plain.__getitems__([0, 1]) == [16, 9]
    assert plain[1] == 9


def test_concat_dataset():
    a = TensorDataset(np.arange(3, dtype=np.int64))
    b = TensorDataset(np.arange(100, 104, dtype=np.int64))
    c = ConcatDataset([a, b])
    assert len(c) == 7
    assert c.cumulative_sizes == [3, 7]
    assert [c[i][0].item() for i in range(7)] == [0, 1, 2, 100, 101, 102, 103]
    assert c[-1][0].item() == 103
    with pytest.raises(IndexError):
        c[7]
    with pytest.raises(ValueError):
        c[-8]
    idx = np.array([6, 0, 3, 2, -1, 4])
    (batch,) = c.__getbatch__(idx)
    np.testing.assert_array_equal(batch, [c[int(i)][0].item() for i in idx])
    (single,) = c.__getbatch__(np.array([4, 5]))
    np.testing.assert_array_equal(single, [101, 102])
    with pytest.raises(IndexError):
        c.__getbatch__(np.array([7]))
    assert getbatch_of(ConcatDataset([a, Squares(2)])) is None


def test_concat_dataset_dict_batches():
    class Dicts(Dataset):
        def __init__(self, x):
            self.x = x

        def __len__(self):
            return len(self.x)

        def __getbatch__(self, idx):
            return {"x": self.x[idx], "half": self.x[idx] / 2}

    c = ConcatDataset([Dicts(np.arange(2.0)), Dicts(np.arange(10.0, 13.0))])
    out = c.__getbatch__(np.array([3, 0, 4]))
    np.testing.assert_array_equal(out["x"], [11.0, 0.0, 12.0])
    np.testing.assert_array_equal(out["half"], [5.5, 0.0, 6.0])


def test_concat_dataset_errors():
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([Stream([1])])
    with pytest.raises(TypeError, match="IterableDataset"):
        list(ChainDataset([Squares(2)]))


def test_random_split_lengths():
    ds = Squares(10)
    parts = random_split(ds, [3, 7], seed=0)
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    perm = np.random.default_rng(0).permutation(10).tolist()
    assert parts[0].indices == perm[:3] and parts[1].indices == perm[3:]


def test_random_split_fractions_round_like_pytorch():
    parts = random_split(Squares(10), [0.33, 0.33, 0.34], seed=1)
    assert [len(p) for p in parts] == [4, 3, 3]
    parts = random_split(Squares(5), [0.5, 0.5], seed=1)
    assert [len(p) for p in parts] == [3, 2]


def test_random_split_generator_is_reproducible():
    a = random_split(Squares(20), [0.5, 0.5], generator=torchlite.Generator().manual_seed(3))
    b = random_split(Squares(20), [0.5, 0.5], generator=torchlite.Generator().manual_seed(3))
    assert a[0].indices == b[0].indices
    g = torchlite.Generator().manual_seed(3)
    first = random_split(Squares(20), [10, 10], generator=g)
    second = random_split(Squares(20), [10, 10], generator=g)  # the generator's state advanced
    assert first[0].indices != second[0].indices


@pytest.mark.parametrize("lengths", [[3, 3], [0.5, 0.6], [-1, 11], [2.5, 7.5]])
def test_random_split_errors(lengths):
    with pytest.raises(ValueError):
        random_split(Squares(10), lengths, seed=0)


def test_stack_dataset_pairs_items_as_tuples_or_dicts():
    from torchlite.utils.data import DataLoader, StackDataset, TensorDataset

    a = TensorDataset(torchlite.arange(4.0))
    b = TensorDataset(torchlite.arange(4.0) * 10)
    pairs = StackDataset(a, b)
    assert len(pairs) == 4 and pairs[1][0][0].item() == 1.0 and pairs[1][1][0].item() == 10.0
    named = StackDataset(x=a, y=b)
    assert named[2]["y"][0].item() == 20.0
    batch = next(iter(DataLoader(named, batch_size=2)))
    assert batch["x"][0].tolist() == [0.0, 1.0] and batch["y"][0].tolist() == [0.0, 10.0]
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(a, TensorDataset(torchlite.arange(3.0)))
    with pytest.raises(ValueError, match="both types are given"):
        StackDataset(a, y=b)
