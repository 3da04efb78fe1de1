"""Metric sums kept on the model's device, so a training or evaluation step never waits for it.

`DeviceAccumulator` wraps a `MetricAccumulator`: each batch adds to running sums that stay
device arrays (a confusion matrix, top-k hit counts, regression error sums and Chan's running
mean/M2 of the targets, a weighted loss sum), built with array operations only, none of which
reads a value back to the host. `flush()` moves the sums to the host once (per logging interval
or epoch) and merges them into the wrapped accumulator, whose `compute()` and `state_dict()` then
work as usual. The arithmetic is the host accumulator's: counts are exact integers and the
regression sums take the same steps, so the values equal the host path's (up to the order of
floating-point summation on the device).

Class indices outside the model's classes are not counted (the host path grows its matrix for
them; on a GPU the loss does not check them either). Integer predictions without a known class
count go through the host accumulator instead, batch by batch.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import to_host
from ..ops.scatter import bincount
from .metrics import MetricAccumulator, _reg_pair, combine_regression, regression_sums

__all__ = ["DeviceAccumulator"]


class DeviceAccumulator:
    """Device-side running sums for a `MetricAccumulator` (see the module docstring)."""

    def __init__(self, host: MetricAccumulator) -> None:
        self.host = host
        self.reset()

    def reset(self) -> None:
        self._cm = None  # (c, c) int64 counts, row = true class
        self._hits: dict[int, object] = {}
        self._loss_sum, self._loss_n = None, 0
        self._n = 0  # regression rows (known from shapes, no device read)
        self._sse = self._sae = self._mean = self._m2 = None

    # -- updates --------------------------------------------------------------------------------
    def update(self, outputs, targets, loss=None) -> None:
        """Add one batch of device arrays; `loss` (a 0-d device array) is the batch mean."""
        xp = backend.get_xp(outputs)
        batch = int(outputs.shape[0]) if outputs.ndim else 1
        if loss is not None:
            term = xp.asarray(loss).astype(np.float64) * batch
            self._loss_sum = term if self._loss_sum is None else self._loss_sum + term
            self._loss_n += batch
        if self.host.task == "classification":
            self._classification(xp, outputs, targets)
        else:
            self._regression(xp, outputs, targets)

    def _num_classes(self, outputs) -> int | None:
        c = self.host.num_classes or 0
        if outputs.ndim >= 2 and outputs.shape[1] > 1:
            return max(c, int(outputs.shape[1]))
        if outputs.dtype.kind == "f":
            return max(c, 2)
        return c or None  # integer predictions: their range is only known by reading them

    def _classification(self, xp, outputs, targets) -> None:
        c = self._num_classes(outputs)
        if c is None:
            self.host.update(to_host(outputs), to_host(targets))
            return
        scores = outputs
        if outputs.ndim > 2:  # (N, C, d1, ...) -> (N * d1 * ..., C)
            scores = xp.moveaxis(outputs, 1, -1).reshape(-1, outputs.shape[1])
        if outputs.ndim >= 2 and outputs.shape[1] > 1:
            pred = xp.argmax(scores, axis=1)
        elif outputs.dtype.kind == "f":
            pred = (outputs.reshape(-1) > self.host.threshold).astype(np.int64)
        else:
            pred = outputs.reshape(-1)
        true = targets
        if targets.ndim >= 2 and targets.shape == outputs.shape and outputs.ndim >= 2 and \
                outputs.shape[1] > 1:  # one-hot or class probabilities
            flat = xp.moveaxis(targets, 1, -1).reshape(-1, targets.shape[1]) \
                if targets.ndim > 2 else targets
            true = xp.argmax(flat, axis=1)
        true = true.reshape(-1).astype(np.int64)
        pred = pred.astype(np.int64)
        if pred.shape != true.shape:
            raise ValueError(f"outputs give {pred.shape[0]} predictions but targets have "
                             f"{true.shape[0]} values (outputs {outputs.shape}, targets "
                             f"{targets.shape})")
        ok = (true >= 0) & (true < c) & (pred >= 0) & (pred < c)
        # pairs outside the classes go to one extra cell, dropped: the size stays fixed,
        # where filtering them out would make the device report how many remain
        cell = xp.where(ok, true * c + pred, c * c)
        counts = bincount(cell, c * c + 1)[:-1].reshape(c, c)
        self._cm = counts if self._cm is None else _add_grown(xp, self._cm, counts)
        for k in self.host._ks:
            hits = _top_k_hits(xp, scores, true, k)
            self._hits[k] = hits if k not in self._hits else self._hits[k] + hits

    def _regression(self, xp, outputs, targets) -> None:
        out, tgt = _reg_pair(outputs, targets, xp)
        prev = None if self._sse is None else (self._sse, self._sae, self._mean, self._m2)
        sums, self._n = regression_sums(xp, prev, self._n, out, tgt)
        if sums is not None:
            self._sse, self._sae, self._mean, self._m2 = sums

    # -- reading --------------------------------------------------------------------------------
    def flush(self) -> MetricAccumulator:
        """Move the sums to the host (one transfer each), add them to the wrapped accumulator
        and start again from zero. Returns the wrapped accumulator."""
        h = self.host
        if self._loss_sum is not None:
            h._loss_sum += float(to_host(self._loss_sum))
            h._loss_n += self._loss_n
        if self._cm is not None:
            cm = to_host(self._cm).astype(np.int64)
            if cm.shape[0] > h.cm.shape[0]:
                grown = np.zeros_like(cm)
                k = h.cm.shape[0]
                grown[:k, :k] = h.cm
                h.cm = grown
            k = cm.shape[0]
            h.cm[:k, :k] += cm
            h.n += int(cm.sum())
            for kk, hits in self._hits.items():
                h.topk_hits[kk] = h.topk_hits.get(kk, 0) + int(to_host(hits))
        if self._sse is not None:
            _merge_regression(h, self._n, to_host(self._sse), to_host(self._sae),
                              to_host(self._mean), to_host(self._m2))
        self.reset()
        return h

    def compute(self) -> dict[str, float]:
        return self.flush().compute()


def _add_grown(xp, a, b):
    if a.shape == b.shape:
        return a + b
    big, small = (a, b) if a.shape[0] >= b.shape[0] else (b, a)
    out = big.copy()
    k = small.shape[0]
    out[:k, :k] += small
    return out


def _top_k_hits(xp, scores, true, k: int):
    """Device count of positions whose target is among the k highest scores (ties count)."""
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"top-k accuracy needs scores of shape (N, C), got {scores.shape}")
    keep = (true >= 0) & (true < scores.shape[1])
    tt = xp.where(keep, true, 0)
    target = xp.take_along_axis(scores, tt[:, None], axis=1)
    higher = xp.sum(scores > target, axis=1)
    return xp.sum((higher < k) & keep)


def _merge_regression(h: MetricAccumulator, m: int, sse, sae, mean, m2) -> None:
    """Chan's parallel combination of the device sums (m rows) into the host accumulator."""
    if m == 0:
        return
    prev = None if h._sse is None else (h._sse, h._sae, h._mean, h._m2)
    h._sse, h._sae, h._mean, h._m2 = combine_regression(prev, h.n, (sse, sae, mean, m2), m)
    h.n += m
