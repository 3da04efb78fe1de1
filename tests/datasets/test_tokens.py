"""The synthetic `tokens` dataset: int64 ids in range, deterministic in the seed, keywords of
the sample's class present, argument checks."""

import numpy as np
import pytest

from torchlite.datasets import tokens


def test_shapes_dtypes_and_rule():
    ds = tokens(n_samples=200, vocab_size=100, seq_len=10, n_classes=3, seed=4)
    assert ds.inputs.shape == (200, 10) and ds.inputs.dtype == np.int64
    assert ds.input_dtype is None and ds.task == "classification" and ds.num_classes == 3
    assert ds.inputs.min() >= 0 and ds.inputs.max() < 100
    keywords = np.array(ds.meta["keywords"])
    for x, y in zip(ds.inputs, ds.targets):
        assert len(set(x.tolist()) & set(keywords[y].tolist())) >= 1
    again = tokens(n_samples=200, vocab_size=100, seq_len=10, n_classes=3, seed=4)
    np.testing.assert_array_equal(ds.inputs, again.inputs)
    x, _ = ds[0]
    assert x.dtype.name == "int64"


@pytest.mark.parametrize("kw, match", [
    (dict(n_samples=0), "n_samples"),
    (dict(n_classes=1), "n_classes"),
    (dict(seq_len=2, n_keywords=3), "n_keywords"),
    (dict(vocab_size=10, n_classes=4, keywords_per_class=3), "vocab_size"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        tokens(**kw)
