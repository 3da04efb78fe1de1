"""utils.checkpoint: a checkpointed function gives the gradients of the plain one (dropout
included, its random state restored for the rerun), keeps no graph from its forward and runs
again in backward, reaches the weights it uses even when its input needs no gradient, and
leaves the random stream where the plain run leaves it."""

import warnings

import numpy as np
import pytest

import torchlite
from torchlite import nn
from torchlite.utils.checkpoint import checkpoint, checkpoint_sequential


def model():
    torchlite.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 8), nn.Tanh(),
                         nn.Linear(8, 2))


def grads(m, x):
    return [p.grad.numpy().copy() for p in m.parameters()] + [x.grad.numpy().copy()]


def run(wrap, seed=1):
    m = model()
    x = torchlite.tensor(np.random.default_rng(3).standard_normal((5, 4)), dtype=torchlite.float32,
                         requires_grad=True)
    torchlite.manual_seed(seed)
    out = wrap(m, x)
    after = torchlite.rand(3).tolist()  # the random stream after the forward
    out.pow(2).sum().backward()
    return out.detach().numpy(), grads(m, x), after


@pytest.mark.parametrize("reentrant", [True, False])
def test_same_values_gradients_and_random_stream_as_without(reentrant):
    plain = run(lambda m, x: m(x))
    for wrap in (lambda m, x: checkpoint(m, x, use_reentrant=reentrant),
                 lambda m, x: checkpoint_sequential(m, 2, x, use_reentrant=reentrant),
                 lambda m, x: m[3:](checkpoint(m[:3], x, use_reentrant=reentrant))):
        got = run(wrap)
        np.testing.assert_allclose(got[0], plain[0], rtol=1e-6)
        for a, b in zip(got[1], plain[1]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        assert got[2] == plain[2]


def test_forward_keeps_no_graph_and_runs_again_in_backward():
    calls = []

    def fn(a, b, scale=1.0):
        calls.append(torchlite.is_grad_enabled())
        return (a * b).sin() * scale, a + 1

    a = torchlite.tensor([0.5, 1.0], requires_grad=True)
    b = torchlite.tensor([2.0, 3.0], requires_grad=True)
    out, other = checkpoint(fn, a, b, use_reentrant=False, scale=2.0)
    assert len(calls) == 1 and out.requires_grad
    assert out.grad_fn.name() == "_CheckpointBackward0"  # not the sin/mul graph
    (out.sum() + other.sum()).backward()
    assert len(calls) == 2
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.cos([1.0, 3.0]) * [2.0, 3.0] + 1)
    np.testing.assert_allclose(b.grad.numpy(), 2 * np.cos([1.0, 3.0]) * [0.5, 1.0])
    (g,) = torchlite.autograd.grad(checkpoint(fn, a, b, use_reentrant=False)[0].sum(), a)
    np.testing.assert_allclose(g.numpy(), np.cos([1.0, 3.0]) * [2.0, 3.0])


def test_without_preserved_rng_the_rerun_draws_new_masks():
    plain = run(lambda m, x: m(x))
    fresh = run(lambda m, x: checkpoint(m, x, use_reentrant=False, preserve_rng_state=False))
    assert not all(np.allclose(a, b) for a, b in zip(fresh[1], plain[1]))


def test_warnings_and_no_grad():
    m = nn.Linear(2, 2)
    x = torchlite.ones(1, 2)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
        checkpoint(m, x.requires_grad_())
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad"):
        out = checkpoint(m, torchlite.ones(1, 2), use_reentrant=True)
    assert not out.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torchlite.no_grad():
            assert not checkpoint(m, x, use_reentrant=False).requires_grad
    with pytest.raises(ValueError, match="Unexpected keyword arguments"):
        checkpoint(lambda a, k=1: a, x, use_reentrant=True, k=2)


def test_weights_get_gradients_when_the_input_needs_none():
    torchlite.manual_seed(0)
    block = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    x = torchlite.ones(2, 3)  # a first block: its input requires no grad
    out = checkpoint(block, x, use_reentrant=False)
    assert out.requires_grad
    out.sum().backward()
    plain = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    plain.load_state_dict(block.state_dict())
    plain(x).sum().backward()
    for a, b in zip(block.parameters(), plain.parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)
    w = block[0].weight
    (g,) = torchlite.autograd.grad(checkpoint(block, x, use_reentrant=False).sum(), w)
    np.testing.assert_allclose(g.numpy(), plain[0].weight.grad.numpy(), rtol=1e-6)
