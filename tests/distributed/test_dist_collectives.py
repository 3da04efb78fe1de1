"""torchlite.distributed's collectives in a real 2-rank job started by
`python -m torchlite.distributed.run`, plus what needs no MPI job."""

import json
import subprocess
import sys

import pytest
from _mpi_job import WORKERS, require_mpi

import torchlite.distributed as dist
from torchlite.distributed import launcher, mpi


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    require_mpi()
    out = tmp_path_factory.mktemp("collectives")
    done = subprocess.run(
        [sys.executable, "-m", "torchlite.distributed.run", "--nproc-per-node", "2",
         str(WORKERS / "collectives.py"), str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


def test_ranks_and_torchrun_variables(reports):
    for r, rep in enumerate(reports):
        assert rep["env"] == [str(r), str(r), "2"]
        assert (rep["rank"], rep["size"], rep["backend"]) == (r, 2, "mpi")
        assert "twice" in rep["twice"]


def test_all_reduce_ops_in_place_async_and_staged_dtypes(reports):
    for rep in reports:
        assert rep["sum"] == [3.0, 6.0] and rep["zero_copy"]
        assert rep["AVG"] == [1.5, 3.0] and rep["MAX"] == [2.0, 4.0]
        assert rep["MIN"] == [1.0, 2.0] and rep["PRODUCT"] == [2.0, 8.0]
        assert rep["async_type"] == "Work" and rep["async"] == [3.0, 6.0]
        assert rep["noncontig"] == [[0.0, 6.0], [2.0, 8.0], [4.0, 10.0]]
        assert rep["bool"] == [True, True] and rep["int_avg"] == [4, 6]
        assert rep.get("bf16", [3.0, 6.0]) == [3.0, 6.0]


def test_data_movement_collectives(reports):
    r0, r1 = reports
    for rep in reports:
        assert rep["bcast"] == [5.0, 6.0, 7.0]
        assert rep["all_gather"] == [[0.0, 0.0], [1.0, 1.0]]
        assert rep["all_gather_into_tensor"] == [0.0, 0.0, 1.0, 1.0]
    assert r0["reduce_scatter_tensor"] == [0.0, 3.0] and r1["reduce_scatter_tensor"] == [6.0, 9.0]
    assert r0["gather"] == [[0.0], [1.0]] and r1["gather"] is None
    assert r0["scatter"] == [10.0] and r1["scatter"] == [11.0]
    assert r1["p2p"] == [9.0, 8.0] and r1["p2p_src"] == 0 and r0["p2p"] == [7.0]


def test_object_collectives_are_json_only(reports):
    for rep in reports:
        assert rep["objects"] == [{"rank": 0, "name": "é", "vals": [1.5, None, True]},
                                  {"rank": 1, "name": "é", "vals": [1.5, None, True]}]
        assert rep["bcast_objects"] == [1, "mine"]
        assert "never pickle" in rep["pickle_refused"]


def test_new_group(reports):
    assert reports[0]["group"] == [-1, -1]
    assert reports[1]["group"] == [0, 1] and reports[1]["group_sum"] == [4.0]


def test_uninitialised_calls_and_importing_does_not_load_mpi():
    code = ("import sys, torchlite.distributed as d; assert 'mpi4py' not in sys.modules; "
            "assert not d.is_initialized(); print(d.is_available())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()


def test_missing_mpi_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setattr(mpi, "mpi_installed", lambda: False)
    monkeypatch.setattr(launcher, "mpi_installed", lambda: False)
    with pytest.raises(mpi.MPIUnavailableError, match=r"torchlite\[mpi\]") as info:
        mpi.import_mpi()
    assert info.value.exit_code == 2 and "\n" not in str(info.value)
    with pytest.raises(mpi.MPIUnavailableError, match=r"torchlite\[mpi\]"):
        launcher.find_mpirun()


def test_mpirun_command_and_mpi_environment(monkeypatch):
    monkeypatch.setattr(launcher, "find_mpirun", lambda: "/x/mpirun")
    monkeypatch.setattr(launcher.os, "cpu_count", lambda: 2)
    cmd = launcher.mpirun_command(3, ["python", "s.py"])
    assert cmd[:3] == ["/x/mpirun", "-n", "3"] and "--oversubscribe" in cmd
    assert cmd[-2:] == ["python", "s.py"]
    assert "--oversubscribe" not in launcher.mpirun_command(2, ["p"])
    with pytest.raises(ValueError):
        launcher.mpirun_command(0, ["p"])
    for key in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert launcher.mpi_environment() is None
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1")
    assert launcher.mpi_environment() == (1, 4, 1)
