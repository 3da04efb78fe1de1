import numpy as np
import pytest

from torchlite.utils.data import DataLoader, DistributedSampler, TensorDataset
from torchlite.utils.data.sampler import epoch_rng

CASES = [(n, k, drop) for n in (0, 1, 5, 10, 11, 17) for k in (1, 2, 3, 4, 7)
         for drop in (False, True)]


def _shards(n, k, drop, **kw):
    return [list(DistributedSampler(range(n), k, r, drop_last=drop, **kw)) for r in range(k)]


@pytest.mark.parametrize("n,k,drop", CASES)
def test_shards_cover_the_dataset_exactly_once_with_pytorch_padding(n, k, drop):
    shards = _shards(n, k, drop, shuffle=False)
    assert len({len(s) for s in shards}) == 1
    assert all(len(s) == len(DistributedSampler(range(n), k, 0, drop_last=drop)) for s in shards)
    flat = sorted(i for s in shards for i in s)
    if drop:
        assert len(set(flat)) == len(flat) and len(flat) == (n // k) * k
    elif n:
        assert set(flat) == set(range(n)) and len(flat) == -(-n // k) * k


def test_shuffled_order_is_a_function_of_seed_and_epoch_shared_by_all_ranks():
    a = _shards(10, 3, False, shuffle=True, seed=4)
    assert a == _shards(10, 3, False, shuffle=True, seed=4)
    perm = epoch_rng(4, 0).permutation(10).tolist()
    padded = perm + perm[:2]
    assert a == [padded[r::3] for r in range(3)]
    s = DistributedSampler(range(10), 3, 1, seed=4)
    s.set_epoch(1)
    assert list(s) != a[1] and list(s) == list(s)
    assert list(DistributedSampler(range(10), 3, 1, seed=5)) != a[1]


def test_bad_rank_and_missing_process_group_are_named():
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(range(4), 3, 3)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))


def test_dataloader_uses_the_shard():
    ds = TensorDataset(np.arange(10.0))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    got = np.concatenate([b[0].numpy() for b in loader])
    np.testing.assert_array_equal(got, np.arange(1, 10, 2))


@pytest.mark.parity
@pytest.mark.parametrize("n,k,drop", CASES)
def test_unshuffled_shards_equal_pytorch(n, k, drop):
    torch_ds = pytest.importorskip("torch.utils.data.distributed")
    theirs = [list(torch_ds.DistributedSampler(range(n), k, r, shuffle=False, drop_last=drop))
              for r in range(k)]
    assert _shards(n, k, drop, shuffle=False) == theirs
