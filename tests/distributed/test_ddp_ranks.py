"""DistributedDataParallel, SyncBatchNorm and DistributedSampler in real MPI jobs: 2 ranks (every
case) and 4 ranks (two cases) with batch B train to the weights of 1 process with batch kB over
50 steps."""

import json

import numpy as np
import pytest
from _mpi_job import worker
from _parity_cases import CASES, case_name, train


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    done = worker("ddp_checks.py", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    reports = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]
    with np.load(out / "parity.npz") as f:
        weights = dict(f)
    return reports, weights


def _compare(weights, opt, model, dtype, world):
    ref = train(opt, model, dtype, world=world)
    name = case_name(opt, model, dtype)
    for key, expect in ref.items():
        got = weights[f"{name}/{key}"]
        if dtype == "float64":
            np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-10, err_msg=key)
        else:
            np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("opt,model,dtype", CASES)
def test_two_ranks_train_to_the_weights_of_one_process_with_twice_the_batch(job, opt, model,
                                                                           dtype):
    _compare(job[1], opt, model, dtype, 2)


FOUR = [("sgd", "bn", "float64"), ("adamw", "mlp", "float32")]


def test_four_ranks_train_to_the_weights_of_one_process_with_four_times_the_batch(tmp_path):
    done = worker("ddp_checks.py", str(tmp_path), *(case_name(*c) for c in FOUR), nproc=4)
    assert done.returncode == 0, done.stdout + done.stderr
    with np.load(tmp_path / "parity.npz") as f:
        weights = dict(f)
    for case in FOUR:
        _compare(weights, *case, 4)


def test_rank_0_state_is_broadcast_at_construction_and_keys_carry_module_prefix(job):
    reports, _ = job
    assert reports[0]["construct"] == reports[1]["construct"]
    assert all(k.startswith("module.") for k in reports[0]["keys"])


def test_no_sync_accumulates_then_averages(job):
    reports, _ = job
    assert reports[0]["no_sync_err"] < 1e-12 and reports[1]["no_sync_err"] < 1e-12


def test_find_unused_parameters(job):
    reports, _ = job
    for r in reports:
        assert r["unused"]["never_grad_is_none"]
        assert r["unused"]["b_bias_grad"] == [0.5, 0.5]  # used on rank 0 only: averaged
        assert r["unused"]["a_bias_grad"] == [1.0, 1.0]
        assert "find_unused_parameters=True" in r["unfinished"]
        assert "never.weight" in r["unfinished"]


def test_a_forward_without_backward_does_not_block_the_next_step(job):
    for r in job[0]:
        assert r["forward_only_then_step"] == [1.0, 1.0]


def test_buffers_follow_rank_0_at_each_forward_with_grad(job):
    reports, _ = job
    assert reports[1]["buffer_no_grad"] == [6.0, 6.0]  # no broadcast under no_grad
    assert reports[1]["buffer_after"] == [5.0, 5.0]
    assert reports[1]["buffer_not_broadcast"] == [6.0, 6.0]
