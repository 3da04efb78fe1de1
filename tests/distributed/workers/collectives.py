"""Every collective of torchlite.distributed once, on 2 ranks; started through
torchlite.distributed.run, so RANK/LOCAL_RANK/WORLD_SIZE are checked too. Writes rank<r>.json."""

import json
import os
import sys
from pathlib import Path

import numpy as np

import torchlite as tl
import torchlite.distributed as dist

out = Path(sys.argv[1])
dist.init_process_group()
r, n = dist.get_rank(), dist.get_world_size()
rep: dict = {"env": [os.environ["RANK"], os.environ["LOCAL_RANK"], os.environ["WORLD_SIZE"]],
             "rank": r, "size": n, "initialized": dist.is_initialized(),
             "backend": dist.get_backend()}

t = tl.tensor([1.0, 2.0]) * (r + 1)
data = t._data
dist.all_reduce(t)
rep["sum"] = t.tolist()
rep["zero_copy"] = t._data is data
for op in ("AVG", "MAX", "MIN", "PRODUCT"):
    t = tl.tensor([1.0, 2.0]) * (r + 1)
    dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
    rep[op] = t.tolist()
t = tl.tensor([1.0, 2.0]) * (r + 1)
work = dist.all_reduce(t, async_op=True)
rep["async_type"] = type(work).__name__
work.wait()
rep["async"] = t.tolist()
x = tl.arange(6.0).reshape(2, 3).t() * (r + 1)  # not contiguous
dist.all_reduce(x, op=dist.ReduceOp.MAX)
rep["noncontig"] = x.tolist()
bits = tl.tensor([r == 0, r == 1])
dist.all_reduce(bits, op=dist.ReduceOp.MAX)
rep["bool"] = bits.tolist()
i = tl.tensor([3, 4]) * (r + 1)
dist.all_reduce(i, op=dist.ReduceOp.AVG)
rep["int_avg"] = i.tolist()
h = tl.tensor([1.0, 2.0], dtype=tl.bfloat16) * (r + 1) if hasattr(tl, "bfloat16") else None
if h is not None:
    dist.all_reduce(h)
    rep["bf16"] = h.float().tolist()

y = tl.tensor([5.0, 6.0, 7.0]) if r == 1 else tl.zeros(3)
dist.broadcast(y, src=1)
rep["bcast"] = y.tolist()
lst = [tl.zeros(2) for _ in range(n)]
dist.all_gather(lst, tl.full((2,), float(r)))
rep["all_gather"] = [v.tolist() for v in lst]
o = tl.zeros(2 * n)
dist.all_gather_into_tensor(o, tl.full((2,), float(r)))
rep["all_gather_into_tensor"] = o.tolist()
o = tl.zeros(2)
dist.reduce_scatter_tensor(o, tl.arange(4.0) * (r + 1))
rep["reduce_scatter_tensor"] = o.tolist()
gl = [tl.zeros(1) for _ in range(n)] if r == 0 else None
dist.gather(tl.tensor([float(r)]), gl, dst=0)
rep["gather"] = None if gl is None else [v.tolist() for v in gl]
s = tl.zeros(1)
dist.scatter(s, [tl.tensor([10.0]), tl.tensor([11.0])] if r == 0 else None, src=0)
rep["scatter"] = s.tolist()
if r == 0:
    dist.send(tl.tensor([9.0, 8.0]), 1, tag=3)
    w = dist.irecv(z := tl.zeros(1), src=1)
    w.wait()
    rep["p2p"] = z.tolist()
else:
    z = tl.zeros(2)
    rep["p2p_src"] = dist.recv(z, tag=3)
    rep["p2p"] = z.tolist()
    dist.isend(tl.tensor([7.0]), 0).wait()

objs: list = [None] * n
dist.all_gather_object(objs, {"rank": r, "name": "é", "vals": [1.5, None, True]})
rep["objects"] = objs
lst2 = [r, "mine"]
dist.broadcast_object_list(lst2, src=1)
rep["bcast_objects"] = lst2
try:
    dist.all_gather_object([None] * n, {1, 2})
    rep["pickle_refused"] = None
except TypeError as exc:
    rep["pickle_refused"] = str(exc)
g = dist.new_group([1])
rep["group"] = [dist.get_rank(g), dist.get_world_size(g)]
if r == 1:
    t = tl.ones(1) * 4
    dist.all_reduce(t, group=g)
    rep["group_sum"] = t.tolist()
dist.barrier()
try:
    dist.init_process_group()
    rep["twice"] = None
except RuntimeError as exc:
    rep["twice"] = str(exc)
np.asarray(0)
(out / f"rank{r}.json").write_text(json.dumps(rep))
dist.destroy_process_group()
