"""The LRScheduler base class, as `torch.optim.lr_scheduler.LRScheduler`.

A scheduler sets `group["lr"]` of its optimizer's param groups at every `step()`. Most schedulers
have a chained form (`get_lr`: the next lr from the current one) and a closed form
(`_get_closed_form_lr`: the lr at `last_epoch` from `base_lrs`), which agree as in PyTorch;
`step(epoch)` (deprecated in PyTorch) uses the closed form.

`state_dict()` holds every attribute but the optimizer: numbers, strings, bools and lists, so
`torchlite.save` can write it.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["LRScheduler"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available."
)


def _clone(v):
    return Tensor._make(v._data.copy(), v._device) if isinstance(v, Tensor) else v


def _format_param(name: str, optimizer: Optimizer, param) -> list:
    """One value per param group: a list/tuple of that length, or one value for all."""
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. {name} has "
                f"{len(param)} values, param_groups has {len(optimizer.param_groups)}."
            )
        return [_clone(p) for p in param]
    return [_clone(param) for _ in optimizer.param_groups]


def _param_groups_val_list(optimizer: Optimizer, key: str) -> list:
    """group[key] of every group (tensors copied, so the list never aliases the optimizer)."""
    return [_clone(group[key]) for group in optimizer.param_groups]


def _update_param_group_val(group: dict[str, Any], key: str, val) -> None:
    """Set group[key]; a tensor lr is filled in place (it may be shared with the user)."""
    if isinstance(group[key], Tensor):
        group[key]._data[...] = float(val)
        group[key]._bump()
    else:
        group[key] = val


class LRScheduler:
    """Base class of the learning-rate schedulers, as PyTorch's.

    Args:
        optimizer: the optimizer whose `group["lr"]` values this scheduler sets.
        last_epoch: index of the last epoch seen; -1 (default) starts fresh and records each
            group's lr as `initial_lr`. Other values need `initial_lr` in every group (resuming).

    Subclasses implement `get_lr()` (and `_get_closed_form_lr()` where a closed form exists).
    """

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _clone(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "scheduler with last_epoch >= 0 (load the optimizer's state first, or "
                        "start with last_epoch=-1)"
                    )
        self.base_lrs: list = _param_groups_val_list(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and take the initial step (which sets the lr for epoch 0)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list:
        """The learning rates set by the last `step()`, one per param group."""
        return self._last_lr

    def get_lr(self) -> list:
        """The next learning rate of each param group (chained form); call `step()` instead."""
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to `epoch`, deprecated, via the closed form) and set the
        optimizer's learning rates. Call it after `optimizer.step()`."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. You should "
                "call them in the order `optimizer.step()` then `lr_scheduler.step()`; otherwise "
                "the first value of the learning rate schedule is skipped.",
                UserWarning, stacklevel=2,
            )
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            _update_param_group_val(group, "lr", lr)
        self._last_lr = _param_groups_val_list(self.optimizer, "lr")

    def _warn_get_lr_outside_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use "
                "`get_last_lr()`.", UserWarning, stacklevel=3,
            )


_LRScheduler = LRScheduler  # the old name, still used by some PyTorch code
