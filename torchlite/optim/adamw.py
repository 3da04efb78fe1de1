"""AdamW: Adam with decoupled weight decay, as `torch.optim.AdamW`."""

from __future__ import annotations

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW, as `torch.optim.AdamW` (defaults lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=1e-2).

    Update rule: the weight decay shrinks the parameter before the Adam step and never enters the
    moments:

        \theta_{t-1} <- \theta_{t-1} (1 - lr \lambda)
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t;   v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2
        \theta_t = \theta_{t-1} - lr / (1 - \beta_1^t) * m_t
                                  / (\sqrt{v_t} / \sqrt{1 - \beta_2^t} + eps)

    (v_t replaced by its running maximum with amsgrad.) The math is `_adam_update` with
    `decoupled_weight_decay=True`, as in PyTorch, where AdamW subclasses Adam.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW is always decoupled, whatever the file says
            group["decoupled_weight_decay"] = True
