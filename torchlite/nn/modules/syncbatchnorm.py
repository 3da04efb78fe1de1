"""SyncBatchNorm, as torch.nn.SyncBatchNorm: batch normalisation whose statistics span every
rank of a process group (DistributedDataParallel training).

In training, the per-channel sums and counts, then the centred sums of squares, are all-reduced,
so every rank normalises with the mean and biased variance of the global batch, and running
statistics are updated with its unbiased variance, as one process with the whole batch would.
Backward all-reduces the sums of dxhat and dxhat * xhat, as PyTorch's; the weight and bias
gradients stay local (DistributedDataParallel averages them). Outside training, with a group of
one rank or without an initialised process group, it is BatchNorm.
"""

from __future__ import annotations

from typing import Any

from ...autograd.function import Op
from ...backend import get_xp
from ...tensor import Tensor
from ..functional.normalization import _affine, _affine_grads, _channel_shape
from ..module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _all_reduce(arr: Any, group: Any, dev: Any) -> Any:
    from ... import distributed as dist

    dist.all_reduce(Tensor._make(arr, dev), group=group)
    return arr


class _SyncBatchNormOp(Op):
    @staticmethod
    def forward(ctx, x, w, b, eps, group, dev, stats_out):
        xp = get_xp(x)
        c = x.shape[1]
        axes = tuple(i for i in range(x.ndim) if i != 1)
        cshape = _channel_shape(x.ndim, c)
        local = xp.empty(c + 1, dtype=x.dtype)
        local[:c] = x.sum(axis=axes)
        local[c] = x.size // c
        total = _all_reduce(local, group, dev)
        n = float(total[c])
        mean = total[:c] / n
        centred = x - mean.reshape(cshape)
        var = _all_reduce((centred * centred).sum(axis=axes), group, dev) / n
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat = centred * invstd.reshape(cshape)
        stats_out.append((mean, var, n))
        ctx.axes, ctx.cshape, ctx.n, ctx.group, ctx.dev = axes, cshape, n, group, dev
        ctx.save_for_backward(xhat, invstd, w)
        return _affine(xhat, w, b, cshape)

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = None
        if need[0]:
            xp = get_xp(g)
            dxhat = g * w.reshape(ctx.cshape) if w is not None else g
            c = invstd.shape[0]
            sums = xp.concatenate([dxhat.sum(axis=ctx.axes), (dxhat * xhat).sum(axis=ctx.axes)])
            sums = _all_reduce(sums, ctx.group, ctx.dev) / ctx.n
            m1, m2 = sums[:c].reshape(ctx.cshape), sums[c:].reshape(ctx.cshape)
            gx = invstd.reshape(ctx.cshape) * (dxhat - m1 - xhat * m2)
        gw, gb = _affine_grads(g, xhat, need, ctx.axes)
        return gx, gw, gb, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the global batch of all ranks. Shape: (N, C, *) -> same."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any = None, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _group_size(self) -> int:
        from ... import distributed as dist

        if not dist.is_initialized():
            return 1
        return dist.get_world_size(self.process_group)

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self._group_size() == 1:
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._bump()
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._data)
        stats: list = []
        y = _SyncBatchNormOp.apply(input, self.weight, self.bias, float(self.eps),
                                   self.process_group, input._device, stats)
        if self.track_running_stats and self.running_mean is not None:
            mean, var, n = stats[0]
            rm, rv = self.running_mean._data, self.running_var._data
            rm *= 1.0 - factor
            rm += factor * mean.astype(rm.dtype, copy=False)
            rv *= 1.0 - factor
            rv += factor * (var * (n / max(n - 1.0, 1.0))).astype(rv.dtype, copy=False)
            self.running_mean._bump()
            self.running_var._bump()
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """`module` with every BatchNorm*d replaced by a SyncBatchNorm holding the same
        parameters and buffers (the module itself when it is a BatchNorm)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls.__new__(cls)
            Module.__init__(out)
            for key in ("num_features", "eps", "momentum", "affine", "track_running_stats"):
                setattr(out, key, getattr(module, key))
            out.process_group = process_group
            for name, p in module._parameters.items():
                out.register_parameter(name, p)
            for name, buf in module._buffers.items():
                out.register_buffer(name, buf)
            out.training = module.training
        for name, child in module._modules.items():
            if child is not None:
                out._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return out
