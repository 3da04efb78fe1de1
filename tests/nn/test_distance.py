import numpy as np
import pytest
from _nn_checks import check_module_grads, npy, rnd, t32, t64

import torchlite.nn as nn


def test_pairwise_distance_and_cosine_similarity_modules():
    a, b = rnd((4, 3), 0), rnd((4, 3), 1)
    d = npy(nn.PairwiseDistance(p=1.0)(t32(a), t32(b)))
    np.testing.assert_allclose(d, np.abs(a - b + 1e-6).sum(1), rtol=1e-5)
    c = npy(nn.CosineSimilarity(dim=1)(t32(a), t32(b)))
    ref = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(c, ref, rtol=1e-5)
    check_module_grads(nn.PairwiseDistance(), t64(a), t64(b))
    check_module_grads(nn.CosineSimilarity(0), t64(a), t64(b))
    assert nn.PairwiseDistance().state_dict() == {}


@pytest.mark.parity
def test_distance_modules_parity():
    torch = pytest.importorskip("torch")
    from _nn_checks import parity

    a, b = rnd((4, 3), 2).astype(np.float32), rnd((4, 3), 3).astype(np.float32)
    parity(nn.PairwiseDistance(3.0, keepdim=True), torch.nn.PairwiseDistance(3.0, keepdim=True),
           a, b)
    parity(nn.CosineSimilarity(0), torch.nn.CosineSimilarity(0), a, b)
