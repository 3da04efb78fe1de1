"""DataParallel's pieces (scatter, replicate, parallel_apply, gather) on several simulated CPU
devices: the logic is device-generic, so two 'cpu' devices exercise the multi-GPU path."""

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
from torchlite import backend
from torchlite.nn.parallel import gather, parallel_apply, replicate, scatter, scatter_kwargs
from torchlite.nn.parallel.data_parallel import _run

CPUS = [backend.CPU, backend.CPU]


def test_scatter_splits_along_dim_like_chunk_and_repeats_other_objects():
    x = torchlite.arange(10.0).reshape(5, 2)
    parts = scatter((x, "tag"), CPUS)
    assert len(parts) == 2
    np.testing.assert_array_equal(parts[0][0].numpy(), x.numpy()[:3])
    np.testing.assert_array_equal(parts[1][0].numpy(), x.numpy()[3:])
    assert parts[0][1] == parts[1][1] == "tag"
    cols = scatter(x, CPUS, dim=1)
    assert [tuple(c.shape) for c in cols] == [(5, 1), (5, 1)]
    d = scatter({"a": x}, CPUS)
    assert tuple(d[1]["a"].shape) == (2, 2)


def test_scatter_kwargs_pads_to_the_same_number_of_chunks():
    x = torchlite.ones(4, 1)
    ins, kws = scatter_kwargs((x,), {}, CPUS)
    assert len(ins) == len(kws) == 2 and kws == ({}, {})
    ins, kws = scatter_kwargs((), {"x": x}, CPUS)
    assert ins == ((), ()) and tuple(kws[0]["x"].shape) == (2, 1)


def test_gather_concatenates_and_is_differentiable():
    a = torchlite.ones(2, 3, requires_grad=True)
    b = torchlite.ones(1, 3, requires_grad=True)
    out = gather([a * 2, b * 3], backend.CPU)
    assert tuple(out.shape) == (3, 3)
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full((1, 3), 3.0))
    outs = gather([{"y": a, "n": None}, {"y": b, "n": None}], -1)
    assert tuple(outs["y"].shape) == (3, 3) and outs["n"] is None
    with pytest.warns(UserWarning, match="scalars"):
        s = gather([a.sum(), b.sum()], "cpu")
    assert tuple(s.shape) == (2,)


def test_replicas_share_parameters_with_the_original_on_its_own_device():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    reps = replicate(net, CPUS)
    assert len(reps) == 2 and reps[0] is not net and reps[0][0] is not net[0]
    assert reps[1][0].weight is net[0].weight
    assert reps[0][1].running_mean is net[1].running_mean
    reps[0][0].weight = None  # a replica's registry is its own
    assert net[0].weight is not None


def test_parallel_apply_runs_each_replica_and_names_a_failing_one():
    net = nn.Linear(3, 2)
    x = torchlite.randn(4, 3)
    outs = parallel_apply([net, net], [(x[:2],), (x[2:],)], None, CPUS)
    np.testing.assert_allclose(np.concatenate([o.detach().numpy() for o in outs]),
                               net(x).detach().numpy(),
                               rtol=1e-6)
    with pytest.raises(RuntimeError, match="replica 1"):
        parallel_apply([net, net], [(x,), (torchlite.randn(4, 5),)], None, CPUS)
    with torchlite.no_grad():
        assert parallel_apply([net, net], [x, x])[0].grad_fn is None


def test_data_parallel_path_matches_one_device_forward_and_backward():
    torchlite.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x = torchlite.randn(7, 4)
    out = _run(net, (x,), {}, CPUS, backend.CPU, 0)
    out.pow(2).sum().backward()
    grads = [p.grad.numpy().copy() for p in net.parameters()]
    net.zero_grad()
    ref = net(x)
    ref.pow(2).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    for g, p in zip(grads, net.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-5, atol=1e-6)
