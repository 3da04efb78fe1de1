import threading
import time

import numpy as np
import pytest

import torchlite
from torchlite.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    get_worker_info,
)


def make_data(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = (np.arange(n) % 3).astype(np.int64)
    return x, y


class CountingDataset(TensorDataset):
    """Counts per-item reads, to tell the fast path from the per-sample one."""

    def __init__(self, *arrays):
        super().__init__(*arrays)
        self.item_calls = 0
        self.batch_calls = 0

    def __getitem__(self, index):
        self.item_calls += 1
        return super().__getitem__(index)

    def __getbatch__(self, indices):
        self.batch_calls += 1
        return super().__getbatch__(indices)


class PerItem(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.array([i, -i], dtype=np.float32), i


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n
        self.epoch = None

    def __iter__(self):
        return ((np.float32(i), i) for i in range(self.n))

    def __len__(self):
        return self.n

    def set_epoch(self, epoch):
        self.epoch = epoch


def rows(loader):
    """All (x rows, labels) of one pass, as NumPy."""
    xs, ys = [], []
    for xb, yb in loader:
        xs.append(xb.numpy())
        ys.append(yb.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def test_reachable_from_the_package():
    assert torchlite.utils.data.DataLoader is DataLoader


def test_sequential_batches_values_and_types():
    x, y = make_data(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    xb, yb = batches[1]
    assert isinstance(batches[1], list)
    assert xb.dtype == torchlite.float32 and yb.dtype == torchlite.int64
    np.testing.assert_array_equal(xb.numpy(), x[4:8])
    np.testing.assert_array_equal(yb.numpy(), y[4:8])


def test_batch_larger_than_dataset_and_drop_last():
    x, y = make_data(5)
    ds = TensorDataset(x, y)
    (only,) = list(DataLoader(ds, batch_size=64))
    np.testing.assert_array_equal(only[0].numpy(), x)
    dropped = DataLoader(ds, batch_size=64, drop_last=True)
    assert len(dropped) == 0 and list(dropped) == []
    loader = DataLoader(ds, batch_size=2, drop_last=True)
    assert len(loader) == 2
    assert [b[1].tolist() for b in loader] == [[0, 1], [2, 0]]


def test_shuffle_order_is_function_of_seed_and_epoch():
    x, y = make_data(37)
    ds = TensorDataset(x, y)
    loader = DataLoader(ds, batch_size=8, shuffle=True, seed=42)
    epochs = [rows(loader)[1] for _ in range(3)]
    for e, got in enumerate(epochs):
        perm = np.random.default_rng([42, e]).permutation(37)
        np.testing.assert_array_equal(got, y[perm])
    # a "resumed" run: a fresh loader told to start at epoch 2 sees epoch 2's order
    resumed = DataLoader(ds, batch_size=8, shuffle=True, seed=42)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(rows(resumed)[1], epochs[2])
    xs, _ = rows(DataLoader(ds, batch_size=8, shuffle=True, seed=42))
    np.testing.assert_array_equal(np.sort(xs[:, 0]), x[:, 0])


def test_shuffle_with_generator_and_global_seed():
    x, y = make_data(20)
    ds = TensorDataset(x, y)
    g = torchlite.Generator().manual_seed(9)
    a = rows(DataLoader(ds, batch_size=5, shuffle=True, generator=g))[1]
    np.testing.assert_array_equal(a, y[np.random.default_rng([9, 0]).permutation(20)])
    torchlite.manual_seed(1)
    b = rows(DataLoader(ds, batch_size=5, shuffle=True))[0]
    torchlite.manual_seed(1)
    c = rows(DataLoader(ds, batch_size=5, shuffle=True))[0]
    np.testing.assert_array_equal(b, c)


def test_fast_path_equals_per_sample_path():
    x, y = make_data(23)
    fast_ds, slow_ds = CountingDataset(x, y), CountingDataset(x, y)
    fast = DataLoader(fast_ds, batch_size=6, shuffle=True, seed=3)
    # any collate_fn other than default_collate itself takes the per-sample path
    slow = DataLoader(
        slow_ds, batch_size=6, shuffle=True, seed=3, collate_fn=lambda b: default_collate(b)
    )
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
    assert fast_ds.item_calls == 0 and fast_ds.batch_calls == 4
    assert slow_ds.item_calls == 23 and slow_ds.batch_calls == 0


def test_fast_path_through_subset():
    x, y = make_data(12)
    ds = CountingDataset(x, y)
    loader = DataLoader(Subset(ds, [11, 3, 5, 7]), batch_size=3)
    got = rows(loader)[0]
    np.testing.assert_array_equal(got, x[[11, 3, 5, 7]])
    assert ds.item_calls == 0


def test_custom_collate_and_per_item_dataset():
    loader = DataLoader(PerItem(5), batch_size=2, collate_fn=lambda batch: [s[1] for s in batch])
    assert list(loader) == [[0, 1], [2, 3], [4]]
    xb, yb = next(iter(DataLoader(PerItem(5), batch_size=3)))
    np.testing.assert_array_equal(xb.numpy(), [[0, 0], [1, -1], [2, -2]])
    assert yb.tolist() == [0, 1, 2] and yb.dtype == torchlite.int64


def test_batch_size_none_converts_single_samples():
    x, y = make_data(3)
    items = list(DataLoader(TensorDataset(x, y), batch_size=None))
    assert len(items) == 3
    assert items[2][0].tolist() == [4.0, 5.0] and items[2][1].item() == 2
    raw = list(DataLoader(PerItem(2), batch_size=None))
    assert isinstance(raw[1][0], torchlite.Tensor) and raw[1][0].tolist() == [1.0, -1.0]
    assert raw[1][1] == 1


def test_custom_sampler_and_batch_sampler():
    x, y = make_data(6)
    ds = TensorDataset(x, y)
    loader = DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [b[1].tolist() for b in loader] == [[2, 1], [0, 2], [1, 0]]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [2]])
    assert [b[1].tolist() for b in loader] == [[0, 2], [2]]
    assert len(loader) == 2
    bs = BatchSampler(SequentialSampler(ds), batch_size=4, drop_last=True)
    assert [b[1].tolist() for b in DataLoader(ds, batch_sampler=bs)] == [[0, 1, 2, 0]]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"shuffle": True, "sampler": [0]}, "mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option"),
        ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option"),
        ({"batch_sampler": [[0]], "shuffle": True}, "batch_sampler option"),
        ({"batch_size": None, "drop_last": True}, "drop_last"),
        ({"num_workers": -1}, "num_workers"),
        ({"prefetch_factor": 2}, "prefetch_factor"),
        ({"num_workers": 1, "prefetch_factor": 0}, "prefetch_factor"),
        ({"persistent_workers": True}, "persistent_workers"),
        ({"timeout": -1}, "timeout"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_option_errors(kwargs, match):
    x, y = make_data(4)
    with pytest.raises(ValueError, match=match):
        DataLoader(TensorDataset(x, y), **kwargs)


def test_empty_dataset():
    empty = TensorDataset(np.zeros((0, 2), dtype=np.float32))
    assert list(DataLoader(empty, batch_size=4)) == []
    with pytest.raises(ValueError, match="num_samples"):
        DataLoader(empty, batch_size=4, shuffle=True, seed=0)


def test_threaded_workers_match_single_thread():
    ds = PerItem(50)
    seen_ids = set()
    lock = threading.Lock()

    def init(worker_id):
        with lock:
            seen_ids.add(worker_id)
        assert get_worker_info().id == worker_id

    single = [(b[0].numpy(), b[1].numpy()) for b in DataLoader(ds, batch_size=7)]
    multi = DataLoader(ds, batch_size=7, num_workers=3, worker_init_fn=init, prefetch_factor=1)
    got = [(b[0].numpy(), b[1].numpy()) for b in multi]
    assert len(got) == len(single) == 8
    for (a, b), (c, d) in zip(single, got):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert seen_ids and seen_ids <= {0, 1, 2}
    assert get_worker_info() is None


def test_threaded_shuffle_and_early_break():
    x, y = make_data(40)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=5, num_workers=2)
    np.testing.assert_array_equal(rows(loader)[1], y[np.random.default_rng([5, 0]).permutation(40)])
    for i, _ in enumerate(loader):
        if i == 1:
            break  # the pool shuts down without hanging
    loader.set_epoch(0)
    np.testing.assert_array_equal(rows(loader)[1], y[np.random.default_rng([5, 0]).permutation(40)])


def test_worker_timeout():
    class Slow(PerItem):
        def __getitem__(self, i):
            time.sleep(0.3)
            return super().__getitem__(i)

    loader = DataLoader(Slow(2), batch_size=1, num_workers=1, timeout=0.01)
    with pytest.raises(RuntimeError, match="timed out"):
        list(loader)


def test_iterable_dataset():
    ds = Stream(7)
    batches = list(DataLoader(ds, batch_size=3))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches[0][0].dtype == torchlite.float32
    assert len(DataLoader(ds, batch_size=3)) == 3
    dropped = DataLoader(ds, batch_size=3, drop_last=True)
    assert len(dropped) == 2 and len(list(dropped)) == 2
    singles = list(DataLoader(ds, batch_size=None))
    assert len(singles) == 7 and singles[3][1] == 3 and singles[3][0].item() == 3.0
    DataLoader(ds).set_epoch(4)
    assert ds.epoch == 4
    assert len(list(DataLoader(Stream(6), batch_size=3, num_workers=2))) == 2


def test_iterable_dataset_option_errors():
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="sampler"):
        DataLoader(Stream(3), sampler=[0])


def test_dict_batches_from_getbatch():
    class Dicts(Dataset):
        def __len__(self):
            return 4

        def __getbatch__(self, idx):
            return {"x": np.asarray(idx, dtype=np.float32) * 2, "name": np.array(["a"] * len(idx))}

    (batch,) = list(DataLoader(Dicts(), batch_size=4))
    assert batch["x"].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert batch["name"].tolist() == ["a"] * 4
