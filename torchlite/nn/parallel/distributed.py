"""DistributedDataParallel, as torch.nn.parallel.DistributedDataParallel.

One process per rank, each holding a full replica. At construction rank 0's parameters and
buffers are broadcast to every rank. Parameters are grouped into buckets (in the reverse order of
`parameters()`, about the order backward produces their gradients; at most `bucket_cap_mb` each,
the first one 1 MB, as PyTorch). A post-accumulate-grad hook copies each gradient, divided by the
world size, into its bucket; a full bucket starts an asynchronous all-reduce while backward goes
on (buckets start in index order on every rank, so the collectives match), and a callback at the
end of backward waits for them and writes the averaged gradients back into `.grad`.
`gradient_as_bucket_view` and `static_graph` are accepted and change nothing here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ... import backend
from ...autograd import engine, grad_mode
from ...autograd.function import AccumulateGrad
from ...tensor import Tensor
from ..module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024


class _Bucket:
    __slots__ = ("params", "offsets", "flat", "pending", "work", "index")

    def __init__(self, index: int, params: list, xp: Any) -> None:
        self.index = index
        self.params = params
        self.offsets = []
        n = 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.flat = xp.zeros(n, dtype=params[0]._data.dtype)
        self.pending = len(params)
        self.work = None

    def view(self, i: int) -> Any:
        p = self.params[i]
        return self.flat[self.offsets[i]:self.offsets[i] + p.numel()].reshape(p._data.shape)


class DistributedDataParallel(Module):
    """Data parallelism across processes: gradients are averaged over the ranks in backward.

    Shape: as `module`. state_dict keys carry the `module.` prefix, as PyTorch's.
    """

    def __init__(self, module: Module, device_ids: list | None = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, delay_all_reduce_named_params: Any = None,
                 param_to_hook_all_reduce: Any = None, mixed_precision: Any = None,
                 device_mesh: Any = None) -> None:
        super().__init__()
        from ...distributed import process_group as pg

        self.module = module
        self.process_group = pg.group_of(process_group)
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 ** 2)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._sync_module_states()
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = self._make_buckets()
        self._where: dict[int, tuple[_Bucket, int]] = {}
        for b in self._buckets:
            for i, p in enumerate(b.params):
                self._where[id(p)] = (b, i)
        self._grad_hooks = [p.register_post_accumulate_grad_hook(self._grad_ready)
                       for p in self._params]
        self._armed = False
        self._next = 0  # the next bucket to start, so every rank starts them in the same order
        self._used: set[int] = set()

    # -- construction ---------------------------------------------------------------------------
    def _sync_module_states(self) -> None:
        from ... import distributed as dist

        if self.process_group.size() == 1:
            return
        with grad_mode.no_grad():
            for t in (*self.module.parameters(), *self.module.buffers()):
                dist.broadcast(t, self.process_group.ranks[0], self.process_group)

    def _make_buckets(self) -> list[_Bucket]:
        buckets: list[_Bucket] = []
        current: list = []
        size = 0
        cap = min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)
        for p in reversed(self._params):
            nbytes = p._data.nbytes
            if current and (size + nbytes > cap or p._data.dtype != current[0]._data.dtype
                            or p._device != current[0]._device):
                buckets.append(_Bucket(len(buckets), current, _xp(current[0])))
                current, size = [], 0
                cap = self.bucket_bytes_cap
            current.append(p)
            size += nbytes
        if current:
            buckets.append(_Bucket(len(buckets), current, _xp(current[0])))
        return buckets

    # -- forward --------------------------------------------------------------------------------
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._armed and self._used:  # a backward began but some gradients never came
            self._armed = False
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one. This error indicates that your module has parameters that were not "
                "used in producing loss. You can enable unused parameter detection by passing "
                "the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`; parameters without a gradient: "
                + ", ".join(self._unready_names())
            )
        sync = grad_mode.is_grad_enabled() and self.require_backward_grad_sync
        self.require_forward_param_sync = sync
        if sync and self.broadcast_buffers and self.process_group.size() > 1:
            self._sync_buffers()
        if self.device_ids:
            from .data_parallel import _move
            from .scatter_gather import as_device

            dev = as_device(self.device_ids[0])
            inputs, kwargs = _move(inputs, dev), _move(kwargs, dev)
        out = self.module(*inputs, **kwargs)
        if sync:
            self._prepare_for_backward(out)
        return out

    def _sync_buffers(self) -> None:
        from ... import distributed as dist

        for b in self.module.buffers():
            dist.broadcast(b, self.process_group.ranks[0], self.process_group)

    def _prepare_for_backward(self, out: Any) -> None:
        for b in self._buckets:
            if b.work is not None:  # started by a pass that never finished: let it land first
                b.work.wait()
            b.pending = len(b.params)
            b.work = None
        self._next = 0
        self._used = set()
        self._armed = True
        if self.find_unused_parameters:
            reached = _leaves_reached(out)
            for p in self._params:
                if id(p) not in reached:
                    self._mark_ready(p, None)

    # -- backward -------------------------------------------------------------------------------
    def _grad_ready(self, p: Tensor) -> None:
        if not self._armed:
            return
        if id(p) in self._used:
            raise RuntimeError(
                "Expected to mark a variable ready only once: a parameter's gradient was "
                "produced twice in one backward pass (use no_sync() or static_graph)"
            )
        if not self._used:  # the first gradient of this backward pass
            engine.queue_callback(self._finalize)
        self._used.add(id(p))
        self._mark_ready(p, p.grad._data)

    def _mark_ready(self, p: Tensor, grad: Any) -> None:
        bucket, i = self._where[id(p)]
        view = bucket.view(i)
        if grad is None:
            view[...] = 0
        else:
            xp = _xp(p)
            xp.multiply(grad, view.dtype.type(1.0 / self.process_group.size()), out=view)
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch_ready()

    def _launch_ready(self) -> None:
        from ... import distributed as dist

        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            b = self._buckets[self._next]
            b.work = dist.all_reduce(Tensor._make(b.flat, b.params[0]._device),
                                     group=self.process_group, async_op=True)
            self._next += 1

    def _finalize(self) -> None:
        from ... import distributed as dist

        if not self._armed:
            return
        if self._next < len(self._buckets):
            return  # some gradients never came: the next forward reports it
        self._armed = False
        used = None
        if self.find_unused_parameters:
            flags = np.array([id(p) in self._used for p in self._params], dtype=np.int32)
            used_t = Tensor._make(flags, backend.CPU)
            dist.all_reduce(used_t, group=self.process_group)
            used = {id(p) for p, u in zip(self._params, flags) if u}
        for b in self._buckets:
            b.work.wait()
            b.work = None
            for i, p in enumerate(b.params):
                if used is not None and id(p) not in used:
                    continue  # unused on every rank: its .grad stays as it was, as PyTorch
                if p.grad is None:
                    p.grad = Tensor._make(b.view(i).copy(), p._device)
                else:
                    p.grad._data[...] = b.view(i)
                    p.grad._bump()

    def _unready_names(self) -> list[str]:
        names = {id(p): n for n, p in self.module.named_parameters()}
        return [names.get(id(p), "?") for b in self._buckets for p in b.params
                if id(p) not in self._used]

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate gradients locally, without communicating; the first
        synchronised backward after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def __del__(self) -> None:
        for h in self.__dict__.get("_grad_hooks", ()):
            h.remove()


def _xp(p: Tensor) -> Any:
    return backend.xp_for(p._device)


def _leaves_reached(out: Any) -> set[int]:
    """ids of the leaf tensors that the autograd graph behind `out` leads to."""
    roots = []
    stack = [out]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            if o.grad_fn is not None:
                roots.append(o.grad_fn)
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    seen: set = set()
    reached: set[int] = set()
    nodes = list(roots)
    while nodes:
        node = nodes.pop()
        if node in seen:
            continue
        seen.add(node)
        if type(node) is AccumulateGrad:
            reached.add(id(node.variable))
            continue
        for edge in node.next_edges:
            if edge is not None:
                nodes.append(edge[0])
    return reached
