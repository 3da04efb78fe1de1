"""Classification and regression metrics on NumPy arrays, and a streaming accumulator.

Classification functions take `outputs` as scores/logits of shape (N, C) (or (N, C, d1, ...) for
per-position classes, class axis 1 as in PyTorch), binary logits of shape (N,) or (N, 1)
(thresholded at `threshold`, 0 for logits), or integer class predictions of shape (N,); targets are
class indices (N,) (or one-hot/probabilities (N, C)). Targets < 0 (PyTorch's ignore_index -100)
are left out. With zero division (a class never predicted or never present), scores are 0, as
scikit-learn's default. Regression metrics average over all outputs uniformly (r2 per output,
then averaged), with r2 = 1 for a perfect fit of a constant target and 0 otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .loader import did_you_mean

__all__ = [
    "CLASSIFICATION_METRICS", "REGRESSION_METRICS", "MetricAccumulator", "accuracy",
    "class_predictions", "classification_report", "compute_metric", "confusion_matrix", "f1_score",
    "f1_macro", "f1_weighted", "mae", "metric_task", "mse", "per_class_scores", "precision",
    "precision_macro", "precision_weighted", "r2", "recall", "recall_macro", "recall_weighted",
    "rmse", "top5_accuracy", "top_k_accuracy",
]

CLASSIFICATION_METRICS = (
    "accuracy", "top_k_accuracy", "top5_accuracy", "f1_macro", "f1_weighted", "precision_macro",
    "precision_weighted", "recall_macro", "recall_weighted",
)
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2")
_TOPK = re.compile(r"^top(\d+)_accuracy$")
DEFAULT_TOP_K = 5


def metric_task(name: str) -> str:
    """"classification" or "regression" for a metric name (`topN_accuracy` for any N >= 1);
    ValueError with a did-you-mean otherwise."""
    if name in CLASSIFICATION_METRICS or (_TOPK.match(name) and int(_TOPK.match(name)[1]) >= 1):
        return "classification"
    if name in REGRESSION_METRICS:
        return "regression"
    known = CLASSIFICATION_METRICS + REGRESSION_METRICS
    hint = did_you_mean(name, known) or "; expected one of: " + ", ".join(known)
    raise ValueError(f"unknown metric {name!r}{hint}")


def _top_k_of(name: str) -> int:
    m = _TOPK.match(name)
    return int(m[1]) if m else DEFAULT_TOP_K


# -- classification ------------------------------------------------------------------------------
def _flatten_scores(outputs: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) -> (N * d1 * ..., C): class axis last."""
    if outputs.ndim > 2:
        outputs = np.moveaxis(outputs, 1, -1).reshape(-1, outputs.shape[1])
    return outputs


def _targets(targets, outputs: np.ndarray) -> np.ndarray:
    t = np.asarray(targets)
    if t.ndim >= 2 and t.shape == outputs.shape and outputs.ndim >= 2 and outputs.shape[1] > 1:
        t = np.argmax(_flatten_scores(t), axis=1)  # one-hot or class probabilities
    return t.reshape(-1).astype(np.int64, copy=False)


def class_predictions(outputs, threshold: float = 0.0) -> np.ndarray:
    """Predicted class indices (flat int64) from scores, binary logits or predicted classes."""
    out = np.asarray(outputs)
    if out.ndim >= 2 and out.shape[1] > 1:
        return np.argmax(_flatten_scores(out), axis=1).astype(np.int64)
    out = out.reshape(-1)
    if out.dtype.kind == "f":
        return (out > threshold).astype(np.int64)
    return out.astype(np.int64, copy=False)


def _pairs(outputs, targets, threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    out = np.asarray(outputs)
    pred = class_predictions(out, threshold)
    true = _targets(targets, out)
    if pred.shape != true.shape:
        raise ValueError(f"outputs give {pred.shape[0]} predictions but targets have "
                         f"{true.shape[0]} values (outputs {out.shape}, targets "
                         f"{np.shape(targets)})")
    keep = true >= 0
    if not keep.all():
        pred, true = pred[keep], true[keep]
    return pred, true


def accuracy(outputs, targets, threshold: float = 0.0) -> float:
    """Fraction of predictions equal to the target class."""
    pred, true = _pairs(outputs, targets, threshold)
    return float(np.mean(pred == true)) if true.size else 0.0


def _top_k_hits(outputs, targets, k: int) -> tuple[int, int]:
    scores = _flatten_scores(np.asarray(outputs))
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"top-k accuracy needs scores of shape (N, C), got {np.shape(outputs)}")
    true = _targets(targets, np.asarray(outputs))
    keep = true >= 0
    scores, true = scores[keep], true[keep]
    if true.size and (true.max() >= scores.shape[1]):
        raise ValueError(f"target class {int(true.max())} out of range for {scores.shape[1]} "
                         "scores")
    target_score = scores[np.arange(true.size), true]
    higher = np.sum(scores > target_score[:, None], axis=1)  # ties count as hits
    return int(np.sum(higher < k)), int(true.size)


def top_k_accuracy(outputs, targets, k: int = DEFAULT_TOP_K) -> float:
    """Fraction of samples whose target is among the k highest scores (ties favour the target)."""
    hits, n = _top_k_hits(outputs, targets, k)
    return hits / n if n else 0.0


def confusion_matrix(outputs, targets, num_classes: int | None = None,
                     threshold: float = 0.0) -> np.ndarray:
    """(C, C) int64 counts: row = true class, column = predicted class."""
    pred, true = _pairs(outputs, targets, threshold)
    out = np.asarray(outputs)
    c = num_classes or 0
    if out.ndim >= 2 and out.shape[1] > 1:
        c = max(c, out.shape[1])
    if true.size:
        c = max(c, int(true.max()) + 1, int(pred.max()) + 1)
    c = max(c, 2 if out.dtype.kind == "f" else 1)
    return np.bincount(true * c + pred, minlength=c * c).reshape(c, c).astype(np.int64)


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 (0 where undefined) and support from a confusion matrix."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(predicted > 0, tp / predicted, 0.0)
        rec = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
    return {"precision": prec, "recall": rec, "f1": f1, "support": support.astype(np.int64)}


def _average(values: np.ndarray, support: np.ndarray, average: str | None, cm: np.ndarray):
    if average is None:
        return values
    if average == "macro":
        return float(values.mean()) if values.size else 0.0
    if average == "weighted":
        total = support.sum()
        return float((values * support).sum() / total) if total else 0.0
    if average == "micro":  # single-label: micro precision = recall = F1 = accuracy
        total = cm.sum()
        return float(np.trace(cm) / total) if total else 0.0
    raise ValueError(f"average must be 'macro', 'weighted', 'micro' or None, got {average!r}")


def _score(kind: str, outputs, targets, average, num_classes):
    cm = confusion_matrix(outputs, targets, num_classes)
    s = per_class_scores(cm)
    return _average(s[kind], s["support"], average, cm)


def precision(outputs, targets, average: str | None = "macro", num_classes: int | None = None):
    """Precision: per class (average=None) or 'macro', 'weighted', 'micro'."""
    return _score("precision", outputs, targets, average, num_classes)


def recall(outputs, targets, average: str | None = "macro", num_classes: int | None = None):
    """Recall: per class (average=None) or 'macro', 'weighted', 'micro'."""
    return _score("recall", outputs, targets, average, num_classes)


def f1_score(outputs, targets, average: str | None = "macro", num_classes: int | None = None):
    """F1 score: per class (average=None) or 'macro', 'weighted', 'micro'."""
    return _score("f1", outputs, targets, average, num_classes)


def classification_report(cm: np.ndarray, class_names=None) -> dict[str, Any]:
    """JSON-ready report from a confusion matrix: accuracy, macro/weighted scores, per class."""
    cm = np.asarray(cm)
    s = per_class_scores(cm)
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(cm))]
    total = int(cm.sum())
    report: dict[str, Any] = {"accuracy": float(np.trace(cm) / total) if total else 0.0,
                              "support": total}
    for avg in ("macro", "weighted"):
        for kind in ("precision", "recall", "f1"):
            report[f"{kind}_{avg}"] = _average(s[kind], s["support"], avg, cm)
    report["per_class"] = [
        {"class": names[i], "precision": float(s["precision"][i]), "recall": float(s["recall"][i]),
         "f1": float(s["f1"][i]), "support": int(s["support"][i])}
        for i in range(len(cm))
    ]
    report["confusion_matrix"] = cm.astype(int).tolist()
    report["class_names"] = names  # the matrix's rows and columns, as the per-class table's
    return report


# -- regression ----------------------------------------------------------------------------------
def _reg_pair(outputs, targets, xp=np):
    """Outputs and targets as (m, d) float64 arrays of module `xp` (NumPy or CuPy)."""
    out = xp.asarray(outputs, dtype=np.float64)
    tgt = xp.asarray(targets, dtype=np.float64)
    if out.size != tgt.size:
        raise ValueError(f"outputs {out.shape} and targets {tgt.shape} differ in size")
    if out.ndim < 2:
        out = out.reshape(-1, 1)
    out = out.reshape(out.shape[0], -1)
    return out, tgt.reshape(out.shape)


def combine_regression(a, n: int, b, m: int):
    """Chan's parallel combination of two sets of regression sums (sse, sae, mean, m2) over n
    and m rows; `a` is None when it covers no rows yet. Works on NumPy and CuPy arrays."""
    if a is None or n == 0:
        return b
    sse, sae, mean, m2 = a
    b_sse, b_sae, b_mean, b_m2 = b
    delta = b_mean - mean
    total = n + m
    return (sse + b_sse, sae + b_sae, mean + delta * (m / total),
            m2 + b_m2 + delta**2 * (n * m / total))


def regression_sums(xp, sums, n: int, out, tgt):
    """Add a batch (out, tgt: (m, d) float64 arrays of module `xp`) to running regression sums
    over n rows (None: no rows yet); returns the new sums and row count."""
    m = out.shape[0]
    if m == 0:
        return sums, n
    err = out - tgt
    b_mean = tgt.mean(axis=0)
    batch = (xp.sum(err**2, axis=0), xp.sum(xp.abs(err), axis=0), b_mean,
             xp.sum((tgt - b_mean) ** 2, axis=0))
    return combine_regression(sums, n, batch, m), n + m


def mse(outputs, targets) -> float:
    """Mean squared error over all outputs."""
    out, tgt = _reg_pair(outputs, targets)
    return float(np.mean((out - tgt) ** 2)) if out.size else 0.0


def rmse(outputs, targets) -> float:
    """Root of the mean squared error."""
    return float(np.sqrt(mse(outputs, targets)))


def mae(outputs, targets) -> float:
    """Mean absolute error over all outputs."""
    out, tgt = _reg_pair(outputs, targets)
    return float(np.mean(np.abs(out - tgt))) if out.size else 0.0


def _r2_from(sse: np.ndarray, sst: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(sst > 0, 1.0 - sse / sst, np.where(sse == 0, 1.0, 0.0))
    return float(per.mean()) if per.size else 0.0


def r2(outputs, targets) -> float:
    """Coefficient of determination, per output then averaged."""
    out, tgt = _reg_pair(outputs, targets)
    sse = np.sum((tgt - out) ** 2, axis=0)
    sst = np.sum((tgt - tgt.mean(axis=0)) ** 2, axis=0)
    return _r2_from(sse, sst)


# The config names, as functions of (outputs, targets) (registry.METRICS points here).
def top5_accuracy(outputs, targets) -> float:
    return top_k_accuracy(outputs, targets, 5)


def f1_macro(outputs, targets) -> float:
    return f1_score(outputs, targets, "macro")


def f1_weighted(outputs, targets) -> float:
    return f1_score(outputs, targets, "weighted")


def precision_macro(outputs, targets) -> float:
    return precision(outputs, targets, "macro")


def precision_weighted(outputs, targets) -> float:
    return precision(outputs, targets, "weighted")


def recall_macro(outputs, targets) -> float:
    return recall(outputs, targets, "macro")


def recall_weighted(outputs, targets) -> float:
    return recall(outputs, targets, "weighted")


def compute_metric(name: str, outputs, targets) -> float:
    """The value of a config metric name (see `metric_task`) on whole arrays."""
    metric_task(name)
    if _TOPK.match(name):
        return top_k_accuracy(outputs, targets, _top_k_of(name))
    return globals()[name](outputs, targets)


# -- streaming -----------------------------------------------------------------------------------
class MetricAccumulator:
    """Per-batch updates, epoch-end values, without keeping predictions.

    Classification keeps a confusion matrix (grown as classes appear) and top-k hit counts;
    regression keeps per-output counts, error sums and a running mean/M2 of the targets (Chan's
    parallel update, stable for large offsets). `update(..., loss=batch_mean_loss)` also averages
    the loss weighted by batch size; `compute()` then includes "loss".
    """

    def __init__(self, metrics=(), task: str = "classification", num_classes: int | None = None,
                 threshold: float = 0.0):
        self.metrics = list(metrics)
        for name in self.metrics:
            if metric_task(name) != task:
                raise ValueError(f"metric {name!r} is a {metric_task(name)} metric, "
                                 f"but the task is {task}")
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        self.task, self.num_classes, self.threshold = task, num_classes, threshold
        self._ks = sorted({_top_k_of(n) for n in self.metrics if n.startswith("top")})
        self.reset()

    def reset(self) -> None:
        self.cm = np.zeros((self.num_classes or 0,) * 2, dtype=np.int64)
        self.topk_hits = dict.fromkeys(self._ks, 0)
        self.n = 0  # samples (classification: scored positions; regression: rows)
        self._loss_sum, self._loss_n = 0.0, 0
        self._sse = self._sae = self._mean = self._m2 = None

    def update(self, outputs, targets, loss: float | None = None) -> None:
        """Add one batch. `outputs`/`targets` as for the functions above; `loss` a batch mean."""
        outputs = np.asarray(outputs)
        batch = int(outputs.shape[0]) if outputs.ndim else 1
        if loss is not None:
            self._loss_sum += float(loss) * batch
            self._loss_n += batch
        if self.task == "classification":
            self._update_classification(outputs, targets)
        else:
            self._update_regression(outputs, targets)

    def _update_classification(self, outputs, targets) -> None:
        if self._update_scores(outputs, targets):
            return
        cm = confusion_matrix(outputs, targets, self.num_classes, self.threshold)
        if cm.shape[0] > self.cm.shape[0]:
            grown = np.zeros_like(cm)
            k = self.cm.shape[0]
            grown[:k, :k] = self.cm
            self.cm = grown
        k = cm.shape[0]
        self.cm[:k, :k] += cm
        self.n += int(cm.sum())
        for kk in self._ks:
            self.topk_hits[kk] += _top_k_hits(outputs, targets, kk)[0]

    def _update_scores(self, outputs: np.ndarray, targets) -> bool:
        """The common batch in fewer NumPy calls (once per training step): scores (N, C) for
        the C classes the matrix already has, class indices (N,) all in range. Counts what
        `confusion_matrix` would; False (nothing done) for anything else."""
        c = self.cm.shape[0]
        if (self._ks or outputs.ndim != 2 or outputs.shape[1] != c or c < 2
                or outputs.dtype.kind != "f" or not isinstance(targets, np.ndarray)
                or targets.shape != outputs.shape[:1] or targets.dtype.kind not in "iu"):
            return False
        true = targets.astype(np.intp, copy=False)
        if true.size and (true.min() < 0 or true.max() >= c):
            return False
        self.cm += np.bincount(true * c + outputs.argmax(axis=1), minlength=c * c).reshape(c, c)
        self.n += true.size
        return True

    def _update_regression(self, outputs, targets) -> None:
        out, tgt = _reg_pair(outputs, targets)
        prev = None if self._sse is None else (self._sse, self._sae, self._mean, self._m2)
        sums, self.n = regression_sums(np, prev, self.n, out, tgt)
        if sums is not None:
            self._sse, self._sae, self._mean, self._m2 = sums

    _STATE = ("n", "_loss_sum", "_loss_n", "cm", "_sse", "_sae", "_mean", "_m2")

    def state_dict(self) -> dict:
        """The running sums as plain lists and numbers (a resumed epoch continues them)."""
        out = {}
        for k in self._STATE:
            v = getattr(self, k)
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        out["topk_hits"] = [[k, v] for k, v in self.topk_hits.items()]
        return out

    def load_state_dict(self, state: dict) -> None:
        for k in self._STATE:
            v = state[k]
            if k == "cm":
                v = np.asarray(v, dtype=np.int64).reshape(len(v), -1) if v else \
                    np.zeros((0, 0), np.int64)
            elif isinstance(v, list):
                v = np.asarray(v, dtype=np.float64)
            setattr(self, k, v)
        self.topk_hits = {int(k): int(v) for k, v in state["topk_hits"]}

    def compute(self) -> dict[str, float]:
        """Metric values over everything seen since `reset()` (plus "loss" when given)."""
        values: dict[str, float] = {}
        if self._loss_n:
            values["loss"] = self._loss_sum / self._loss_n
        if self.task == "classification":
            s = per_class_scores(self.cm) if self.cm.size else None
            for name in self.metrics:
                if not self.n:
                    values[name] = 0.0
                elif name == "accuracy":
                    values[name] = float(np.trace(self.cm) / self.n)
                elif name.startswith("top"):
                    values[name] = self.topk_hits[_top_k_of(name)] / self.n
                else:
                    kind, avg = name.split("_")
                    values[name] = _average(s[kind], s["support"], avg, self.cm)
            return values
        for name in self.metrics:
            if not self.n:
                values[name] = 0.0
                continue
            mse_ = float(self._sse.sum() / (self.n * self._sse.size))
            if name == "mse":
                values[name] = mse_
            elif name == "rmse":
                values[name] = float(np.sqrt(mse_))
            elif name == "mae":
                values[name] = float(self._sae.sum() / (self.n * self._sae.size))
            else:
                values[name] = _r2_from(self._sse, self._m2)
        return values
