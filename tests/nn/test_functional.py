"""torchlite.nn.functional as a namespace, and the functions that have no Module."""

import numpy as np
import pytest
from _nn_checks import check_fn_grads, npy, rnd, t32, t64

import torchlite
import torchlite.nn.functional as F

PYTORCH_NAMES = """
linear bilinear relu relu6 leaky_relu elu selu celu gelu silu mish softplus softsign hardtanh
hardsigmoid hardswish sigmoid tanh softmax log_softmax softmin threshold dropout alpha_dropout
dropout1d dropout2d batch_norm layer_norm group_norm embedding one_hot normalize pad
cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
binary_cross_entropy_with_logits kl_div cosine_similarity pairwise_distance
cosine_embedding_loss margin_ranking_loss triplet_margin_loss prelu glu logsigmoid
""".split()


def test_namespace_has_pytorch_functions():
    missing = [n for n in PYTORCH_NAMES if not callable(getattr(F, n, None))]
    assert missing == []


def test_normalize():
    x = rnd((3, 4), 0)
    np.testing.assert_allclose(npy(F.normalize(t32(x))), x / np.linalg.norm(x, axis=1,
                                                                          keepdims=True),
                               rtol=1e-5)
    out = F.normalize(t32(x), p=1.0, dim=0)
    np.testing.assert_allclose(npy(out), x / np.abs(x).sum(0), rtol=1e-5)
    assert not np.isnan(npy(F.normalize(t32(np.zeros((2, 2)))))).any()
    check_fn_grads(lambda a: F.normalize(a, dim=1), t64(x))


def test_cosine_similarity_and_pairwise_distance():
    a, b = rnd((4, 3), 1), rnd((4, 3), 2)
    ref = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(npy(F.cosine_similarity(t32(a), t32(b))), ref, rtol=1e-5)
    check_fn_grads(F.cosine_similarity, t64(a), t64(b))
    d = npy(F.pairwise_distance(t32(a), t32(b), p=3.0, keepdim=True))
    np.testing.assert_allclose(d[:, 0], (np.abs(a - b + 1e-6) ** 3).sum(1) ** (1 / 3), rtol=1e-5)
    check_fn_grads(F.pairwise_distance, t64(a), t64(b))
    pd = npy(F.pdist(t32(a)))
    i, j = np.triu_indices(4, 1)
    np.testing.assert_allclose(pd, np.linalg.norm(a[i] - a[j], axis=1), rtol=1e-5)


def test_pad_is_the_core_op():
    x = t32(rnd((1, 2, 3)))
    out = F.pad(x, (1, 2), value=5.0)
    assert tuple(out.shape) == (1, 2, 6) and float(out[0, 0, 0]) == 5.0
    assert tuple(F.pad(x, (1, 1, 1, 1), mode="reflect").shape) == (1, 4, 5)


@pytest.mark.parity
def test_distance_parity():
    torch = pytest.importorskip("torch")
    a, b = rnd((4, 3), 3).astype(np.float32), rnd((1, 3), 4).astype(np.float32)
    pairs = [
        (F.cosine_similarity(t32(a), t32(b)), torch.nn.functional.cosine_similarity(
            torch.tensor(a), torch.tensor(b))),
        (F.normalize(t32(a), p=3.0, dim=0), torch.nn.functional.normalize(torch.tensor(a), 3.0, 0)),
        (F.pairwise_distance(t32(a), t32(b)), torch.nn.functional.pairwise_distance(
            torch.tensor(a), torch.tensor(b))),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(npy(ours), theirs.numpy(), rtol=1e-5, atol=1e-6)
    assert torchlite.float32 == pairs[0][0].dtype
