"""One MPI job for the DistributedDataParallel tests: the parity runs and the DDP behaviours.

Rank 0 writes parity.npz (final weights of each case); every rank writes rank<r>.json with
what the tests assert.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _parity_cases import CASES, case_name, train  # noqa: E402

import torchlite  # noqa: E402
import torchlite.distributed as dist  # noqa: E402
import torchlite.nn as nn  # noqa: E402
from torchlite.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

out = Path(sys.argv[1])
only = sys.argv[2:]  # case names: the parity runs alone (the 4-rank job)
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
report: dict = {}

weights = {}
for opt, model, dtype in CASES:
    if only and case_name(opt, model, dtype) not in only:
        continue
    for k, v in train(opt, model, dtype, rank, world).items():
        weights[f"{case_name(opt, model, dtype)}/{k}"] = v
if rank == 0:
    np.savez(out / "parity.npz", **weights)
if only:
    dist.destroy_process_group()
    sys.exit(0)

# rank 0's parameters and buffers win at construction
torchlite.manual_seed(100 + rank)
net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
ddp = DDP(net)
report["construct"] = [float(t.detach().sum().item()) for t in net.state_dict().values()]
report["keys"] = list(ddp.state_dict())

# no_sync: the first synchronised backward averages the locally accumulated gradients
torchlite.manual_seed(1)
lin = nn.Linear(3, 2).double()
ref = nn.Linear(3, 2).double()
ref.load_state_dict(lin.state_dict())
ddp = DDP(lin)
rng = np.random.default_rng(rank)
xs = [torchlite.from_numpy(rng.standard_normal((5, 3))) for _ in range(2)]
with ddp.no_sync():
    ddp(xs[0]).sum().backward()
assert lin.weight.grad is not None
ddp(xs[1]).sum().backward()
for x in xs:
    ref(x).sum().backward()
expect = [p.grad.clone() for p in ref.parameters()]
for e in expect:
    dist.all_reduce(e, op=dist.ReduceOp.AVG)
report["no_sync_err"] = max(float((p.grad - e).abs().max().item())
                            for p, e in zip(lin.parameters(), expect))


# find_unused_parameters: a branch only rank 0 uses, a layer nobody uses
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = nn.Linear(2, 2)
        self.never = nn.Linear(2, 2)

    def forward(self, x, use_b):
        y = self.a(x)
        return y + self.b(x) if use_b else y


torchlite.manual_seed(2)
branchy = Branchy()
ddp = DDP(branchy, find_unused_parameters=True)
for _ in range(2):  # twice: the second iteration must not complain about the first
    branchy.zero_grad()
    ddp(torchlite.ones(1, 2), use_b=(rank == 0)).sum().backward()
report["unused"] = {
    "never_grad_is_none": branchy.never.weight.grad is None,
    "b_bias_grad": branchy.b.bias.grad.tolist() if branchy.b.bias.grad is not None else None,
    "a_bias_grad": branchy.a.bias.grad.tolist(),
}

# without find_unused_parameters, a parameter without gradient is named at the next forward
ddp = DDP(Branchy())
ddp(torchlite.ones(1, 2), use_b=False).sum().backward()
try:
    ddp(torchlite.ones(1, 2), use_b=False)
    report["unfinished"] = None
except RuntimeError as exc:
    report["unfinished"] = str(exc)


# a forward with grad on but no backward (a look at the output) does not block the next step
lone = nn.Linear(2, 2)
ddp = DDP(lone, find_unused_parameters=True)
ddp(torchlite.ones(1, 2))
ddp(torchlite.ones(1, 2)).sum().backward()
report["forward_only_then_step"] = lone.bias.grad.tolist()

# broadcast_buffers: rank 0's buffers reach the others at each forward with grad on
class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torchlite.ones(2))
        self.register_buffer("shift", torchlite.zeros(2))

    def forward(self, x):
        return x * self.w + self.shift


wb = WithBuffer()
ddp = DDP(wb)
wb.shift.fill_(float(rank + 5))
with torchlite.no_grad():
    ddp(torchlite.ones(2))
report["buffer_no_grad"] = wb.shift.tolist()
ddp(torchlite.ones(2))
report["buffer_after"] = wb.shift.tolist()
wb.shift.fill_(float(rank + 5))
DDP(wb, broadcast_buffers=False)  # construction broadcasts anyway
wb.shift.fill_(float(rank + 5))
ddp = DDP(wb, broadcast_buffers=False)
wb.shift.fill_(float(rank + 5))
ddp(torchlite.ones(2))
report["buffer_not_broadcast"] = wb.shift.tolist()

(out / f"rank{rank}.json").write_text(json.dumps(report))
dist.destroy_process_group()
