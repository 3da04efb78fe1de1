"""A rank that raises, is killed or stops answering ends the whole job, naming the rank."""

import time

import pytest
from _mpi_job import worker


@pytest.mark.parametrize("mode", ["raise", "kill", "hang"])
def test_a_failing_rank_ends_the_job_within_the_timeout(mode):
    start = time.monotonic()
    done = worker("fault.py", mode, env={"TO": "3"}, timeout=300)
    elapsed = time.monotonic() - start
    assert done.returncode != 0
    # a hung rank sleeps 600 s: the job ends well before that, within the 3 s timeout plus the
    # start and end of two ranks, which a loaded machine can stretch to tens of seconds
    assert elapsed < 120
    text = done.stdout + done.stderr
    assert "rank 0 done" not in text
    if mode == "raise":
        assert "boom on purpose" in text
        assert "rank 1 failed with ValueError" in text
    elif mode == "kill":
        assert "rank 1" in text
    else:
        assert "rank 0: all_reduce did not complete within 3 s" in text
