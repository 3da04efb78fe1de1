"""ctc_loss, the connectionist temporal classification loss (Graves et al., 2006).

The negative log-probability of each target sequence, summed over every alignment of it to the
input frames (blanks between and around the labels, repeats collapsed), by the forward
recursion over the blank-extended target, in log space. It is composed of differentiable ops
(gather, logaddexp-style sums, where), so its gradient, and a second derivative, come from
theirs. Impossible paths hold a large finite negative number instead of -inf, so no NaN reaches
a gradient; a loss that stays that large (the target cannot fit the input) is reported as inf,
or 0 with zero_infinity, as PyTorch's.
"""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor

_IMPOSSIBLE = -1e30  # log(0) stand-in: exp(_IMPOSSIBLE - x) is 0 for any reachable x


def _lse(*terms: Tensor) -> Tensor:
    """log(sum(exp(terms))) elementwise, stable, for 2 or 3 same-shape tensors."""
    import torchlite

    stacked = torchlite.stack(terms)
    top = stacked.amax(0).detach()
    return top + (stacked - top).exp().sum(0).log()


def _as_lengths(v, n: int, name: str) -> np.ndarray:
    arr = np.asarray(v.tolist() if isinstance(v, Tensor) else v, dtype=np.int64).reshape(-1)
    if arr.shape[0] != n:
        raise RuntimeError(f"ctc_loss: expected {name} to have {n} elements, got {arr.shape[0]}")
    return arr


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """log_probs (T, N, C) (or (T, C)) log-softmax outputs; targets (N, S) padded or 1-D
    concatenated; input_lengths and target_lengths (N,). reduction 'mean' divides each loss by
    its target length, then averages over the batch."""
    import torchlite

    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got "
                           f"{tuple(log_probs.shape)}")
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError(f"ctc_loss: blank must be in label range [0, {c}), got {blank}")
    in_len = _as_lengths(input_lengths, n, "input_lengths")
    tgt_len = _as_lengths(target_lengths, n, "target_lengths")
    if (in_len > t_max).any() or (in_len < 0).any():
        raise RuntimeError(f"ctc_loss: input_lengths must be in [0, {t_max}], got "
                           f"{in_len.tolist()}")
    tg = np.asarray(targets.tolist(), dtype=np.int64)
    if unbatched and tg.ndim == 1 and tg.shape[0] == tgt_len.sum() and n == 1:
        tg = tg.reshape(1, -1)
    if tg.ndim == 1:  # concatenated targets
        if tg.shape[0] != tgt_len.sum():
            raise RuntimeError("ctc_loss: the concatenated targets must have sum(target_lengths) "
                               "elements")
        rows, start = [], 0
        width = max(int(tgt_len.max(initial=0)), 1)
        for k in tgt_len:
            row = np.zeros(width, dtype=np.int64)
            row[:k] = tg[start:start + k]
            rows.append(row)
            start += k
        tg = np.stack(rows) if rows else np.zeros((0, width), dtype=np.int64)
    if (tgt_len > tg.shape[1]).any():
        raise RuntimeError("ctc_loss: target_lengths exceed the targets' length")
    s_max = max(int(tgt_len.max(initial=0)), 0)
    width = 2 * s_max + 1
    ext = np.full((n, width), blank, dtype=np.int64)  # blank, l1, blank, l2, ..., blank
    ext[:, 1::2] = tg[:, :s_max]
    # a label may follow the one two places back unless it repeats it
    skip = np.zeros((n, width), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    valid = np.arange(width)[None, :] < (2 * tgt_len[:, None] + 1)
    dev = lp.device
    ext_t = torchlite.tensor(ext, device=dev)
    skip_t = torchlite.tensor(skip, device=dev)
    valid_t = torchlite.tensor(valid, device=dev)
    impossible = torchlite.full((n, width), _IMPOSSIBLE, dtype=lp.dtype, device=dev)
    # the log-probability of each extended label at each frame: (T, N, width)
    emit = lp.gather(2, ext_t.unsqueeze(0).expand(t_max, n, width))
    first = np.zeros((n, width), dtype=bool)
    first[:, 0] = True
    if width > 1:
        first[:, 1] = tgt_len > 0
    alpha = torchlite.where(torchlite.tensor(first, device=dev) & valid_t, emit[0], impossible)
    for t in range(1, t_max):
        stay = alpha
        step = torchlite.cat([impossible[:, :1], alpha[:, :-1]], 1)
        jump = torchlite.cat([impossible[:, :2], alpha[:, :-2]], 1)
        jump = torchlite.where(skip_t, jump, impossible)
        new = _lse(stay, step, jump) + emit[t]
        new = torchlite.where(valid_t, new, impossible)
        running = torchlite.tensor((t < in_len)[:, None], device=dev)
        alpha = torchlite.where(running, new, alpha)  # frozen after a sample's last frame
    ends = alpha
    last = torchlite.tensor(2 * tgt_len, device=dev).unsqueeze(1)
    end_blank = ends.gather(1, last).squeeze(1)
    end_label = ends.gather(1, (last - 1).clamp(min=0)).squeeze(1)
    has_label = torchlite.tensor(tgt_len > 0, device=dev)
    total = torchlite.where(has_label, _lse(end_blank, torchlite.where(
        has_label, end_label, torchlite.full_like(end_label, _IMPOSSIBLE))), end_blank)
    loss = -total
    # no frames: the empty target has probability 1 (loss 0), any other target none
    empty_input = torchlite.tensor(in_len == 0, device=dev)
    loss = torchlite.where(empty_input & has_label, torchlite.full_like(loss, _IMPOSSIBLE * -1),
                           loss)
    loss = torchlite.where(empty_input & ~has_label, loss * 0, loss)
    infinite = loss.detach() > -_IMPOSSIBLE / 2
    if zero_infinity:
        loss = torchlite.where(infinite, torchlite.zeros_like(loss), loss)
    elif bool(infinite.any()):
        loss = torchlite.where(infinite, torchlite.full_like(loss, float("inf")), loss)
    if reduction == "none":
        return loss.squeeze(0) if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    lengths = torchlite.tensor(np.maximum(tgt_len, 1), dtype=loss.dtype, device=dev)
    return (loss / lengths).mean()
