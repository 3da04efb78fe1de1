import numpy as np
import pytest

import torchlite
from torchlite.utils.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def ref_perm(seed, epoch, n):
    # the documented contract: a pass is numpy's default_rng([seed, epoch]) permutation
    return np.random.default_rng([seed, epoch]).permutation(n).tolist()


def test_sequential_sampler():
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4]
    assert len(s) == 5
    assert list(SequentialSampler([])) == []


def test_random_sampler_is_pure_function_of_seed_and_epoch():
    s = RandomSampler(range(50), seed=7)
    first, second = list(s), list(s)
    assert sorted(first) == list(range(50))
    assert first == ref_perm(7, 0, 50)
    assert second == ref_perm(7, 1, 50)
    assert first != second
    assert s.epoch == 2
    s.set_epoch(1)
    assert list(s) == second
    other = RandomSampler(range(50), seed=7)
    other.set_epoch(5)
    s.set_epoch(5)
    assert list(other) == list(s) == ref_perm(7, 5, 50)
    assert all(isinstance(i, int) for i in RandomSampler(range(3), seed=0))


def test_random_sampler_seed_sources():
    g = torchlite.Generator().manual_seed(123)
    assert RandomSampler(range(20), generator=g).seed == 123
    assert list(RandomSampler(range(20), generator=g)) == ref_perm(123, 0, 20)
    torchlite.manual_seed(5)
    a = list(RandomSampler(range(30)))
    torchlite.manual_seed(5)
    b = list(RandomSampler(range(30)))
    assert a == b and sorted(a) == list(range(30))
    # an explicit seed wins over the generator
    assert RandomSampler(range(3), generator=g, seed=9).seed == 9


def test_random_sampler_replacement_and_num_samples():
    s = RandomSampler(range(4), replacement=True, num_samples=1000, seed=1)
    idx = list(s)
    assert len(idx) == len(s) == 1000
    assert set(idx) == {0, 1, 2, 3}
    # without replacement, more samples than items chain whole permutations
    s = RandomSampler(range(5), num_samples=12, seed=2)
    idx = list(s)
    assert len(idx) == 12
    assert sorted(idx[:5]) == sorted(idx[5:10]) == list(range(5))
    assert len(set(idx[10:])) == 2


def test_random_sampler_errors():
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler([], seed=0)
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0, seed=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1, seed=0)
    with pytest.raises(TypeError, match="seed"):
        RandomSampler(range(3), seed=1.5)
    with pytest.raises(ValueError, match="epoch"):
        RandomSampler(range(3), seed=0).set_epoch(-1)


def test_subset_random_sampler():
    idx = [10, 20, 30, 40, 50]
    s = SubsetRandomSampler(idx, seed=3)
    got = list(s)
    assert sorted(got) == idx
    assert got == [idx[i] for i in ref_perm(3, 0, 5)]
    assert len(s) == 5
    s.set_epoch(0)
    assert list(s) == got


def test_weighted_random_sampler_frequencies():
    w = [0.0, 1.0, 3.0]
    s = WeightedRandomSampler(w, num_samples=20000, seed=0)
    counts = np.bincount(list(s), minlength=3)
    assert counts[0] == 0
    assert abs(counts[2] / counts.sum() - 0.75) < 0.02
    assert len(s) == 20000


def test_weighted_random_sampler_without_replacement_and_tensor_weights():
    w = torchlite.tensor([1.0, 1.0, 1.0, 0.0, 5.0])
    s = WeightedRandomSampler(w, num_samples=4, replacement=False, seed=4)
    got = list(s)
    assert sorted(got) == [0, 1, 2, 4]
    s.set_epoch(0)
    assert list(s) == got
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler(w, num_samples=5, replacement=False, seed=0)


@pytest.mark.parametrize(
    "weights", [[], [1.0, -1.0], [0.0, 0.0], [1.0, float("nan")], [[1.0, 2.0]]]
)
def test_weighted_random_sampler_bad_weights(weights):
    with pytest.raises(ValueError):
        WeightedRandomSampler(weights, num_samples=1, seed=0)


def test_batch_sampler():
    s = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)
    assert list(s) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert len(s) == 4
    s = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True)
    assert list(s) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(s) == 3
    # any iterable of ints works (the slow path), as a plain list here
    s = BatchSampler([5, 4, 3, 2, 1], batch_size=2, drop_last=False)
    assert list(s) == [[5, 4], [3, 2], [1]]
    assert [b.tolist() for b in s._iter_arrays()] == [[5, 4], [3, 2], [1]]


def test_batch_sampler_forwards_set_epoch():
    s = BatchSampler(RandomSampler(range(8), seed=11), batch_size=4, drop_last=False)
    first = list(s)
    assert sum(first, []) == ref_perm(11, 0, 8)
    s.set_epoch(0)
    assert list(s) == first


def test_batch_sampler_errors():
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), batch_size=0, drop_last=False)
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), batch_size=True, drop_last=False)
    with pytest.raises(ValueError, match="boolean"):
        BatchSampler(range(3), batch_size=2, drop_last="no")
