"""`torch.optim.swa_utils`: Stochastic Weight Averaging and exponential moving averages of a
model's weights (AveragedModel with the SWA or EMA rule), SWALR (anneal the learning rate to a
constant), and update_bn (recompute BatchNorm statistics for the averaged weights).

The update arithmetic is PyTorch's: SWA lerps each average toward the model's value with weight
1 / (n + 1) (a float32 number, as PyTorch's tensor division gives), EMA with weight 1 - decay.
"""

from __future__ import annotations

import copy
import itertools
import math
import warnings

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from ._scheduler_base import LRScheduler, _format_param

__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn",
           "get_swa_avg_fn", "get_swa_multi_avg_fn", "update_bn"]


def _n(num_averaged) -> int:
    return int(num_averaged.item()) if isinstance(num_averaged, Tensor) else int(num_averaged)


def get_ema_multi_avg_fn(decay: float = 0.999):
    """The EMA update over lists of tensors: ema <- lerp(ema, current, 1 - decay)."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param_list, current_param_list, _num_averaged=None):
        with no_grad():
            for ema, current in zip(ema_param_list, current_param_list):
                if ema.is_floating_point():
                    ema.lerp_(current, 1 - decay)
                else:
                    ema.copy_(ema * decay + current * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """The SWA update over lists of tensors: average <- lerp(average, current, 1 / (n + 1))."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = _n(num_averaged)
        weight = float(np.float32(1.0) / np.float32(n + 1))
        with no_grad():
            for avg, current in zip(averaged_param_list, current_param_list):
                if avg.is_floating_point():
                    avg.lerp_(current, weight)
                else:  # integer buffers (num_batches_tracked): C's truncating division
                    avg.add_((current - avg).double().div(n + 1).trunc().to(avg.dtype))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """The EMA update of one tensor: decay * ema + (1 - decay) * current (a new tensor)."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param, current_param, num_averaged=None):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The SWA update of one tensor: average + (current - average) / (n + 1)."""

    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (_n(num_averaged) + 1)

    return swa_update


class AveragedModel(nn.Module):
    """A copy of `model` whose parameters (and buffers, with use_buffers) are an average of
    the model's over the calls of update_parameters: an equal-weight (SWA) average by
    default, or the rule of `avg_fn(avg, current, n)` (one tensor, returns the new value) or
    `multi_avg_fn(avgs, currents, n)` (lists, in place), such as get_ema_multi_avg_fn(0.999).
    The first call copies the model's values. Without use_buffers the buffers follow the
    model's (recompute BatchNorm statistics with update_bn). forward runs the copy."""

    def __init__(self, model: nn.Module, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        import torchlite

        self.register_buffer("n_averaged", torchlite.tensor(0, dtype=torchlite.int64,
                                                            device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: nn.Module) -> None:
        """Fold the model's current values into the average (or copy them, the first time)."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.module.parameters()), list(model.parameters())
        if len(mine) != len(theirs):
            raise ValueError(f"update_parameters: the model has {len(theirs)} parameters"
                             f"{' and buffers' if self.use_buffers else ''}, the averaged "
                             f"copy {len(mine)}: pass the model the average was made from")
        averaged = [p.detach() for p in mine]
        current = [p.detach().to(a.device) for p, a in zip(theirs, averaged)]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, c in zip(averaged, current):
                    a.copy_(c)
            elif self.avg_fn is not None:
                for a, c in zip(averaged, current):
                    a.copy_(self.avg_fn(a, c, self.n_averaged.to(a.device)))
            else:
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                fn(averaged, current, self.n_averaged)
            if not self.use_buffers:  # the buffers follow the model's
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    b_avg.detach().copy_(b_model.detach().to(b_avg.device))
            self.n_averaged += 1


def update_bn(loader, model: nn.Module, device=None) -> None:
    """Recompute the running statistics of every BatchNorm layer of `model` with one pass over
    `loader` (batches, or tuples whose first item is the input), as a cumulative average;
    the model's training mode and the layers' momenta are restored afterwards."""
    from ..nn.modules.normalization import _BatchNorm

    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate from its current value to `swa_lr` over
    `anneal_epochs` steps ('cos' or 'linear'), then hold it there."""

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_strategy = anneal_strategy
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) \
                or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]
