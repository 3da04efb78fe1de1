"""`tokens`: a seeded synthetic bag-of-tokens classification dataset (integer token ids).

Each class owns a few "keyword" ids; a sample of class c is `seq_len` ids drawn from the whole
vocabulary with `n_keywords` of them replaced by keywords of class c. Which class a sample
belongs to is therefore learnable from which ids occur, whatever their order: the task an
`EmbeddingBag` (sum or mean of the ids' vectors) followed by a Linear layer solves.
"""

from __future__ import annotations

import numpy as np

from .array import ArrayDataset


def tokens(n_samples: int = 1000, vocab_size: int = 1000, seq_len: int = 16,
           n_classes: int = 4, n_keywords: int = 3, keywords_per_class: int = 8,
           seed: int = 0) -> ArrayDataset:
    """(n_samples, seq_len) int64 token ids in [0, vocab_size) and int64 class labels.

    `keywords_per_class` distinct ids per class (disjoint across classes) are the signal;
    `n_keywords` of each sample's positions hold keywords of its class, the others are uniform
    noise over the vocabulary. A pure function of its arguments.
    """
    for name, value in (("n_samples", n_samples), ("vocab_size", vocab_size),
                        ("seq_len", seq_len), ("n_classes", n_classes),
                        ("n_keywords", n_keywords), ("keywords_per_class", keywords_per_class)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    if n_keywords > seq_len:
        raise ValueError(f"n_keywords ({n_keywords}) cannot exceed seq_len ({seq_len})")
    if n_classes * keywords_per_class > vocab_size:
        raise ValueError(f"vocab_size ({vocab_size}) is too small for {n_classes} classes of "
                         f"{keywords_per_class} keywords")
    rng = np.random.default_rng(seed)
    keywords = rng.permutation(vocab_size)[:n_classes * keywords_per_class].reshape(
        n_classes, keywords_per_class)
    y = rng.integers(0, n_classes, n_samples)
    x = rng.integers(0, vocab_size, (n_samples, seq_len))
    # the keyword positions of each sample, and which of its class's keywords sit there
    pos = np.argsort(rng.random((n_samples, seq_len)), axis=1)[:, :n_keywords]
    pick = rng.integers(0, keywords_per_class, (n_samples, n_keywords))
    np.put_along_axis(x, pos, keywords[y[:, None], pick], axis=1)
    return ArrayDataset(x.astype(np.int64), y.astype(np.int64), task="classification",
                        classes=[str(i) for i in range(n_classes)], name="tokens",
                        input_dtype=None, meta={"keywords": keywords.tolist()})
