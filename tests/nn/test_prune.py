"""nn.utils.prune: masks by magnitude, norm, chance or hand, pruning again among what is left,
global pruning across tensors, the forward through orig * mask, removal, the refusals, and
PyTorch parity of every mask and key."""

import importlib

import numpy as np
import pytest

import torchlite
from torchlite import nn
from torchlite.nn.utils import prune

T = torchlite.tensor


def linear(seed=0, n_in=6, n_out=4):
    layer = nn.Linear(n_in, n_out)
    rng = np.random.default_rng(seed)
    layer.load_state_dict({"weight": T(rng.standard_normal((n_out, n_in)), dtype=torchlite.float32),
                           "bias": T(rng.standard_normal(n_out), dtype=torchlite.float32)})
    return layer


def test_l1_unstructured_zeros_the_smallest_entries_and_prunes_again_among_the_rest():
    layer = linear()
    w = layer.weight.detach().numpy().copy()
    prune.l1_unstructured(layer, "weight", amount=0.25)  # round(0.25 * 24) = 6
    mask = layer.weight_mask.numpy()
    smallest = np.argsort(np.abs(w).ravel())[:6]
    assert (mask.ravel()[smallest] == 0).all() and mask.sum() == 18
    np.testing.assert_array_equal(layer.weight.detach().numpy(), w * mask)
    assert sorted(layer.state_dict()) == ["bias", "weight_mask", "weight_orig"]
    prune.l1_unstructured(layer, "weight", amount=3)  # 3 more, among the 18 kept
    mask2 = layer.weight_mask.numpy()
    assert mask2.sum() == 15 and (mask2 <= mask).all()
    assert (mask2.ravel()[np.argsort(np.abs(w).ravel())[:9]] == 0).all()
    assert isinstance(list(layer._forward_pre_hooks.values())[0], prune.PruningContainer)


def test_structured_pruning_removes_whole_channels():
    conv = nn.Conv2d(2, 4, 3)
    w = conv.weight.detach().numpy().copy()
    prune.ln_structured(conv, "weight", amount=0.5, n=2, dim=0)
    norms = np.linalg.norm(w.reshape(4, -1), axis=1)
    kept = conv.weight_mask.numpy().reshape(4, -1).max(1)
    assert kept.tolist() == [float(i in np.argsort(norms)[2:]) for i in range(4)]
    torchlite.manual_seed(0)
    other = nn.Linear(5, 3)
    prune.random_structured(other, "weight", amount=2, dim=1)
    cols = other.weight_mask.numpy().max(0)
    assert cols.sum() == 3 and set(np.unique(other.weight_mask.numpy())) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="multidimensional"):
        prune.ln_structured(nn.Linear(2, 2), "bias", amount=1, n=1, dim=0)


def test_random_custom_and_global():
    torchlite.manual_seed(1)
    layer = linear()
    prune.random_unstructured(layer, "weight", amount=10)
    assert layer.weight_mask.numpy().sum() == 14
    mask = T(np.eye(4, 6), dtype=torchlite.float32)
    prune.custom_from_mask(layer, "bias", mask=T([1.0, 0.0, 1.0, 0.0]))
    assert layer.bias.detach().numpy()[[1, 3]].tolist() == [0.0, 0.0]
    a, b = linear(2), linear(3, 4, 2)
    weights = np.concatenate([a.weight.detach().numpy().ravel(), b.weight.detach().numpy().ravel()])
    prune.global_unstructured([(a, "weight"), (b, "weight")],
                              pruning_method=prune.L1Unstructured, amount=10)
    masks = np.concatenate([a.weight_mask.numpy().ravel(), b.weight_mask.numpy().ravel()])
    assert masks.sum() == weights.size - 10
    assert (masks[np.argsort(np.abs(weights))[:10]] == 0).all()
    with pytest.raises(ValueError, match="should have the same shape|shape"):
        prune.custom_from_mask(linear(), "weight", mask=mask[:2])


def test_training_keeps_pruned_entries_at_zero_and_remove_makes_it_permanent():
    layer = linear()
    prune.l1_unstructured(layer, "weight", amount=0.5)
    mask = layer.weight_mask.numpy().copy()
    opt = torchlite.optim.SGD(layer.parameters(), lr=0.1)
    x = T(np.random.default_rng(4).standard_normal((3, 6)), dtype=torchlite.float32)
    for _ in range(3):
        opt.zero_grad()
        layer(x).pow(2).sum().backward()
        opt.step()
    layer(x)  # the hook recomputes the weight from the trained original
    effective = layer.weight.detach().numpy()
    assert (effective[mask == 0] == 0).all()
    np.testing.assert_array_equal(effective, layer.weight_orig.detach().numpy() * mask)
    assert prune.is_pruned(layer) and prune.is_pruned(nn.Sequential(layer))
    prune.remove(layer, "weight")
    assert not prune.is_pruned(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    assert isinstance(layer.weight, nn.Parameter)
    np.testing.assert_array_equal(layer.weight.detach().numpy(), effective)
    with pytest.raises(ValueError, match="has to be pruned before"):
        prune.remove(layer, "weight")


def test_amount_validation():
    for bad, err in ((-1, ValueError), (1.5, ValueError), ("0.3", TypeError)):
        with pytest.raises(err):
            prune.l1_unstructured(linear(), "weight", amount=bad)
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        prune.l1_unstructured(linear(), "weight", amount=25)
    layer = linear()
    with pytest.raises(ValueError):
        prune.l1_unstructured(layer, "weight", amount=25)
    assert sorted(layer.state_dict()) == ["bias", "weight"]  # left as it was


@pytest.mark.parity
def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    importlib.import_module("torch.nn.utils.prune")  # not imported with torch itself

    def build(lib):
        m = lib.nn.Sequential(lib.nn.Conv2d(2, 4, 3), lib.nn.Flatten(), lib.nn.Linear(36, 5))
        m.load_state_dict({k: lib.tensor(np.random.default_rng(i).standard_normal(
            tuple(v.shape)).astype(np.float32)) for i, (k, v) in enumerate(m.state_dict().items())})
        p = lib.nn.utils.prune
        p.l1_unstructured(m[0], "weight", amount=0.3)
        p.ln_structured(m[0], "weight", amount=1, n=2, dim=0)
        p.l1_unstructured(m[0], "weight", amount=5)
        p.l1_unstructured(m[2], "bias", amount=2)
        p.global_unstructured([(m[0], "weight"), (m[2], "weight")],
                              pruning_method=p.L1Unstructured, amount=0.4)
        return m

    theirs, mine = build(torch), build(torchlite)
    assert sorted(mine.state_dict()) == sorted(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(mine.state_dict()[k].detach().numpy(), v.detach().numpy(),
                                      err_msg=k)
    x = np.random.default_rng(7).standard_normal((2, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(mine(T(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
