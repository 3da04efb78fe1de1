"""Suite `distributed`: torchlite.distributed on 2 MPI ranks (needs the mpi extra).

Rows `all_reduce N`: one in-place SUM all_reduce of N float32 values over 2 ranks, through
torchlite's wrapper (torchlite column) and through raw mpi4py `Allreduce(IN_PLACE, ...)` on the
same kind of buffer (floor column); the ratio is the wrapper's cost. Rows `ddp overlap` and
`ddp after`: one DistributedDataParallel training step (784-512-256-10 MLP, SGD momentum,
batch 64 per rank) on 2 ranks x 1 thread, the all-reduces started from the gradient hooks while
backward runs (overlap) or in one all-reduce after backward (after); the floor column is
the same step without DDP in 1 process x 2 threads with the global batch 128.

Each worker keeps one MPI job per row, started by `build`: rank 0 reads a line per step from the
worker and answers when the step is done, so the times include a pipe round trip (~0.1 ms) but
not mpirun's start. There is no PyTorch column.
"""

from __future__ import annotations

import json
import subprocess
import sys
import weakref

import numpy as np

from ._common import SEED, Env, RowSpec

REPEAT, WARMUP, BLOCK, SETTLE = 20, 3, 5, 0.0
SIZES = (1 << 16, 1 << 20, 1 << 22)
QUICK_SIZES = (1 << 10,)
MLP = (784, 512, 256, 10)
QUICK_MLP = (64, 32, 16, 10)


def rows(quick: bool = False) -> list[RowSpec]:
    from ..distributed.mpi import mpi_installed

    if not mpi_installed():  # without the mpi extra the suite has no rows
        return []
    out = []
    for n in QUICK_SIZES if quick else SIZES:
        out.append(RowSpec("distributed", f"all_reduce {n}",
                           f"2 ranks: in-place SUM all_reduce of {n} float32 ({n * 4 >> 10} KiB); "
                           "floor: raw mpi4py Allreduce(IN_PLACE)",
                           {"kind": "all_reduce", "n": n}))
    sizes = QUICK_MLP if quick else MLP
    for mode in ("overlap", "after"):
        out.append(RowSpec("distributed", f"ddp {mode}",
                           f"DDP step, MLP {'-'.join(map(str, sizes))}, 2 ranks x 1 thread, batch "
                           f"64 per rank, all-reduce {'during' if mode == 'overlap' else 'after'} "
                           "backward; floor: 1 process x 2 threads, batch 128, no DDP",
                           {"kind": "ddp", "mode": mode, "sizes": list(sizes), "batch": 64},
                           samples=128))
    return out


class _Job:
    """A resident MPI job; `step()` runs one step on every rank."""

    def __init__(self, nproc: int, threads: int, spec: dict) -> None:
        from ..distributed.launcher import mpirun_command

        # idle ranks yield the CPU: two jobs (one per framework) are alive at once and take
        # turns, and spinning ranks of the idle one would slow the other down
        env = {"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
               "MKL_NUM_THREADS": str(threads), "OMPI_MCA_mpi_yield_when_idle": "1"}
        import os

        cmd = mpirun_command(nproc, [sys.executable, "-m", "torchlite.benchmark.distributed",
                                     json.dumps(spec)])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env={**os.environ, **env})
        self._finalizer = weakref.finalize(self, _stop, self.proc)
        self.what = "value" if spec["kind"] == "all_reduce" else "loss"
        self._read()

    def _read(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the MPI job of the distributed suite ended (status "
                               f"{self.proc.wait()})")
        return line.strip()

    def step(self, check: bool = False) -> str:
        self.proc.stdin.write("check\n" if check else "step\n")
        self.proc.stdin.flush()
        return self._read()

    def check(self) -> dict[str, float]:
        """The first step's number: the summed value, or the loss over the global batch."""
        return {self.what: float(self.step(check=True))}


def _stop(proc) -> None:
    try:
        proc.stdin.write("quit\n")  # mpirun does not pass on the end of its stdin
        proc.stdin.close()
        proc.wait(timeout=30)
    except Exception:  # noqa: BLE001 - a job that will not stop is killed
        proc.kill()


def build(env: Env, params: dict):
    if env.framework == "torch" or env.device != "cpu":
        return None
    if params["kind"] == "all_reduce":
        return _Job(2, 1, {**params, "raw": env.framework == "floor"})
    if env.framework == "floor":
        return _Job(1, 2, {**params, "plain": True})
    return _Job(2, 1, params)


# -- inside the MPI job -------------------------------------------------------------------------
def _serve(spec: dict) -> None:
    from mpi4py import MPI

    import torchlite
    import torchlite.distributed as dist

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    if spec["kind"] == "all_reduce":
        buf = np.ones(spec["n"], dtype=np.float32)
        if spec.get("raw"):
            def step(check):
                comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
                return float(buf[0])
        else:
            dist.init_process_group("mpi")
            t = torchlite.from_numpy(buf)

            def step(check):
                dist.all_reduce(t)
                return float(buf[0])
    else:
        step = _ddp_step(spec, comm)
    flag = np.zeros(1, dtype=np.int32)  # 0: stop, 1: step, 2: step and report
    if rank == 0:
        print("ready", flush=True)
    while True:
        if rank == 0:
            line = sys.stdin.readline().strip()
            flag[0] = {"": 0, "quit": 0, "step": 1, "check": 2}[line]
        if comm.Get_size() > 1:
            comm.Bcast(flag, root=0)
        if not flag[0]:
            break
        value = step(flag[0] == 2)
        if rank == 0:
            print(repr(value), flush=True)


def _ddp_step(spec: dict, comm):
    from mpi4py import MPI

    import torchlite
    import torchlite.distributed as dist
    import torchlite.nn as nn
    from torchlite.nn.parallel import DistributedDataParallel

    sizes, batch = spec["sizes"], spec["batch"]
    plain = spec.get("plain", False)
    if plain:
        torchlite.set_num_threads(2)
        batch *= 2
    else:
        dist.init_process_group("mpi")
    torchlite.manual_seed(SEED)
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2]),
                          nn.ReLU(), nn.Linear(sizes[2], sizes[3]))
    # one global batch of 128; rank r trains on its r-th half
    rng = np.random.default_rng(SEED)
    xs = rng.standard_normal((spec["batch"] * 2, sizes[0]), dtype=np.float32)
    ys = rng.integers(0, sizes[-1], spec["batch"] * 2)
    rows = slice(0, batch) if plain else slice(comm.Get_rank() * batch, (comm.Get_rank() + 1)
                                                * batch)
    x = torchlite.from_numpy(np.ascontiguousarray(xs[rows]))
    y = torchlite.from_numpy(np.ascontiguousarray(ys[rows]))
    net = model if plain else DistributedDataParallel(model)
    opt = torchlite.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    after = spec.get("mode") == "after" and not plain

    def step(check):
        opt.zero_grad()
        if after:
            with net.no_sync():
                loss = loss_fn(net(x), y)
                loss.backward()
            flat = torchlite.cat([p.grad.reshape(-1) for p in model.parameters()])
            dist.all_reduce(flat, op=dist.ReduceOp.AVG)
            offset = 0
            for p in model.parameters():
                n = p.numel()
                p.grad._data[...] = flat._data[offset:offset + n].reshape(p.grad._data.shape)
                offset += n
        else:
            loss = loss_fn(net(x), y)
            loss.backward()
        opt.step()
        if not check:
            return 0.0
        value = np.array([float(loss.item())])
        if not plain:  # the loss of the global batch: the mean of the ranks' (equal halves)
            comm.Allreduce(MPI.IN_PLACE, value, op=MPI.SUM)
            value /= comm.Get_size()
        return float(value[0])

    return step


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
