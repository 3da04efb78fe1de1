"""Metrics against independent NumPy computations written here (no scikit-learn)."""

import math

import numpy as np
import pytest

from torchlite.training import metrics as M

RNG = np.random.default_rng(0)


# -- references: plain loops, obviously right --
def ref_confusion(true, pred, c):
    cm = np.zeros((c, c), dtype=np.int64)
    for t, p in zip(true, pred):
        cm[t, p] += 1
    return cm


def ref_scores(true, pred, c):
    prec, rec, f1, sup = [], [], [], []
    for k in range(c):
        tp = sum(1 for t, p in zip(true, pred) if t == k and p == k)
        fp = sum(1 for t, p in zip(true, pred) if t != k and p == k)
        fn = sum(1 for t, p in zip(true, pred) if t == k and p != k)
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        prec.append(pr)
        rec.append(rc)
        f1.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
        sup.append(tp + fn)
    return prec, rec, f1, sup


def ref_average(values, support, average):
    if average == "macro":
        return sum(values) / len(values)
    return sum(v * s for v, s in zip(values, support)) / sum(support)


def ref_top_k(scores, true, k):
    hits = 0
    for row, t in zip(scores, true):
        order = sorted(range(len(row)), key=lambda j: -row[j])
        hits += t in order[:k]
    return hits / len(true)


def ref_r2(y, p):
    y, p = np.asarray(y, float).reshape(len(y), -1), np.asarray(p, float).reshape(len(y), -1)
    out = []
    for j in range(y.shape[1]):
        mean = sum(y[:, j]) / len(y)
        ss_res = sum((a - b) ** 2 for a, b in zip(y[:, j], p[:, j]))
        ss_tot = sum((a - mean) ** 2 for a in y[:, j])
        out.append(1 - ss_res / ss_tot)
    return sum(out) / len(out)


def classification_data(n=200, c=5):
    logits = RNG.standard_normal((n, c)).astype(np.float32)
    true = RNG.integers(0, c, size=n)
    true[: n // 3] = logits[: n // 3].argmax(1)  # better than chance
    return logits, true


# -- classification --
def test_accuracy_from_logits_and_classes():
    logits, true = classification_data()
    pred = [int(np.argmax(r)) for r in logits]
    expected = sum(p == t for p, t in zip(pred, true)) / len(true)
    assert M.accuracy(logits, true) == pytest.approx(expected)
    assert M.accuracy(np.array(pred), true) == pytest.approx(expected)


def test_binary_logits_are_thresholded():
    logits = np.array([-2.0, 0.5, 3.0, -0.1])
    true = np.array([0, 0, 1, 1])
    assert M.accuracy(logits, true) == 0.5
    assert M.accuracy(logits.reshape(-1, 1), true) == 0.5
    assert M.accuracy(np.array([0.2, 0.7, 0.9, 0.6]), true, threshold=0.5) == 0.75


def test_one_hot_targets_and_ignore_index():
    logits, true = classification_data(50, 4)
    assert M.accuracy(logits, np.eye(4)[true]) == pytest.approx(M.accuracy(logits, true))
    masked = true.copy()
    masked[:10] = -100
    keep = slice(10, None)
    assert M.accuracy(logits, masked) == pytest.approx(M.accuracy(logits[keep], true[keep]))


def test_per_position_outputs_use_class_axis_1():
    logits = RNG.standard_normal((3, 4, 5, 6))  # N, C, H, W
    true = RNG.integers(0, 4, size=(3, 5, 6))
    pred = logits.argmax(axis=1)
    assert M.accuracy(logits, true) == pytest.approx(float(np.mean(pred == true)))


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_top_k_accuracy(k):
    logits, true = classification_data(120, 6)
    assert M.top_k_accuracy(logits, true, k) == pytest.approx(ref_top_k(logits, true, k))
    assert M.top_k_accuracy(logits, true, 1) == pytest.approx(M.accuracy(logits, true))


def test_top_k_ties_count_as_hits_and_shape_checked():
    scores = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]])
    assert M.top_k_accuracy(scores, np.array([1, 2]), k=1) == 1.0
    with pytest.raises(ValueError, match="scores of shape"):
        M.top_k_accuracy(np.array([0.1, 0.2]), np.array([0, 1]))


def test_confusion_matrix_and_scores():
    logits, true = classification_data(300, 5)
    pred = logits.argmax(1)
    cm = M.confusion_matrix(logits, true)
    np.testing.assert_array_equal(cm, ref_confusion(true, pred, 5))
    prec, rec, f1, sup = ref_scores(true, pred, 5)
    s = M.per_class_scores(cm)
    np.testing.assert_allclose(s["precision"], prec)
    np.testing.assert_allclose(s["recall"], rec)
    np.testing.assert_allclose(s["f1"], f1)
    np.testing.assert_array_equal(s["support"], sup)
    for avg in ("macro", "weighted"):
        assert M.precision(logits, true, avg) == pytest.approx(ref_average(prec, sup, avg))
        assert M.recall(logits, true, avg) == pytest.approx(ref_average(rec, sup, avg))
        assert M.f1_score(logits, true, avg) == pytest.approx(ref_average(f1, sup, avg))
    assert M.f1_score(logits, true, "micro") == pytest.approx(M.accuracy(logits, true))
    np.testing.assert_allclose(M.f1_score(logits, true, None), f1)
    with pytest.raises(ValueError, match="average must be"):
        M.f1_score(logits, true, "samples")


def test_zero_division_gives_zero_and_num_classes_pads():
    true = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 0, 0])  # class 1 never predicted, class 2 never present
    cm = M.confusion_matrix(pred, true, num_classes=3)
    assert cm.shape == (3, 3) and cm[1, 0] == 2
    s = M.per_class_scores(cm)
    np.testing.assert_allclose(s["precision"], [0.5, 0.0, 0.0])
    np.testing.assert_allclose(s["recall"], [1.0, 0.0, 0.0])
    assert M.f1_score(pred, true, "macro", num_classes=3) == pytest.approx((2 / 3) / 3)


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="predictions but targets"):
        M.accuracy(np.zeros((4, 3)), np.zeros(5, dtype=int))


def test_classification_report():
    logits, true = classification_data(100, 3)
    cm = M.confusion_matrix(logits, true)
    rep = M.classification_report(cm, ["a", "b", "c"])
    assert rep["accuracy"] == pytest.approx(M.accuracy(logits, true))
    assert rep["f1_macro"] == pytest.approx(M.f1_score(logits, true, "macro"))
    assert rep["precision_weighted"] == pytest.approx(M.precision(logits, true, "weighted"))
    assert [r["class"] for r in rep["per_class"]] == ["a", "b", "c"]
    assert rep["confusion_matrix"] == cm.tolist() and rep["support"] == 100


# -- regression --
def test_regression_metrics():
    y = RNG.standard_normal((80, 3)) * 5 + 2
    p = y + RNG.standard_normal((80, 3))
    flat_y, flat_p = y.ravel().tolist(), p.ravel().tolist()
    mse = sum((a - b) ** 2 for a, b in zip(flat_y, flat_p)) / len(flat_y)
    mae = sum(abs(a - b) for a, b in zip(flat_y, flat_p)) / len(flat_y)
    assert M.mse(p, y) == pytest.approx(mse)
    assert M.rmse(p, y) == pytest.approx(math.sqrt(mse))
    assert M.mae(p, y) == pytest.approx(mae)
    assert M.r2(p, y) == pytest.approx(ref_r2(y, p))
    assert M.r2(p[:, 0], y[:, 0]) == pytest.approx(ref_r2(y[:, :1], p[:, :1]))
    assert M.mse(p[:, :1], y[:, 0]) == pytest.approx(M.mse(p[:, 0], y[:, 0]))


def test_r2_of_constant_targets():
    y = np.full(5, 3.0)
    assert M.r2(y, y) == 1.0
    assert M.r2(y + 1, y) == 0.0
    with pytest.raises(ValueError, match="differ in size"):
        M.mse(np.zeros(3), np.zeros(4))


# -- names --
def test_metric_names():
    assert M.metric_task("accuracy") == "classification"
    assert M.metric_task("top3_accuracy") == "classification"
    assert M.metric_task("r2") == "regression"
    with pytest.raises(ValueError, match="did you mean 'f1_macro'"):
        M.metric_task("f1macro")
    with pytest.raises(ValueError, match="unknown metric"):
        M.metric_task("top0_accuracy")


@pytest.mark.parametrize("name", [*M.CLASSIFICATION_METRICS, "top2_accuracy"])
def test_compute_metric_classification(name):
    logits, true = classification_data(90, 4)
    value = M.compute_metric(name, logits, true)
    if name == "accuracy":
        expected = M.accuracy(logits, true)
    elif name.startswith("top"):
        k = 5 if name == "top_k_accuracy" else int(name[3])
        expected = ref_top_k(logits, true, k)
    else:
        kind, avg = name.split("_")
        prec, rec, f1, sup = ref_scores(true, logits.argmax(1), 4)
        expected = ref_average({"precision": prec, "recall": rec, "f1": f1}[kind], sup, avg)
    assert value == pytest.approx(expected)


# -- streaming --
def batches(n, sizes):
    start = 0
    for size in sizes:
        yield slice(start, min(start + size, n))
        start += size


@pytest.mark.parametrize("sizes", [[300], [1] * 7 + [293], [64, 64, 64, 64, 44]])
def test_accumulator_classification_equals_whole_arrays(sizes):
    logits, true = classification_data(300, 6)
    names = [
        "accuracy",
        "top3_accuracy",
        "f1_macro",
        "f1_weighted",
        "precision_macro",
        "recall_weighted",
    ]
    acc = M.MetricAccumulator(names, "classification", num_classes=6)
    losses = RNG.random(len(sizes))
    for s, loss in zip(batches(300, sizes), losses):
        acc.update(logits[s], true[s], loss=loss)
    values = acc.compute()
    for name in names:
        assert values[name] == pytest.approx(M.compute_metric(name, logits, true)), name
    counts = [min(s, 300 - sum(sizes[:i])) for i, s in enumerate(sizes)]
    assert values["loss"] == pytest.approx(np.dot(losses, counts) / 300)
    np.testing.assert_array_equal(acc.cm, M.confusion_matrix(logits, true))


@pytest.mark.parametrize("num_classes", [None, 6])
def test_accumulator_counts_every_kind_of_batch_as_confusion_matrix_does(num_classes):
    """Score batches in range take a shorter path; ignored targets, unsigned labels, classes
    the matrix does not have yet, predicted classes and empty batches the general one."""
    logits, true = classification_data(300, 6)
    true = true.copy()
    true[::17] = -100  # ignored
    acc = M.MetricAccumulator(["accuracy", "f1_macro"], "classification", num_classes)
    kept = []
    for i, s in enumerate(batches(300, [40, 0, 60, 50, 70, 80])):
        x, y = logits[s], true[s]
        if i == 3:
            y = np.where(y < 0, 0, y).astype(np.uint8)
        if i == 4:
            x = np.argmax(x, axis=1)  # class predictions, not scores
        acc.update(x, y)
        kept.append((np.argmax(logits[s], axis=1) if x.ndim == 2 else x, y))
    pred = np.concatenate([p for p, _ in kept])
    want_true = np.concatenate([t.astype(np.int64) for _, t in kept])
    np.testing.assert_array_equal(acc.cm, M.confusion_matrix(pred, want_true, 6))
    assert acc.n == int((want_true >= 0).sum())
    assert acc.compute()["accuracy"] == pytest.approx(M.accuracy(pred, want_true))


def test_accumulator_grows_classes_and_resets():
    acc = M.MetricAccumulator(["accuracy", "f1_macro"], "classification")
    acc.update(np.array([0, 1]), np.array([0, 1]))
    acc.update(np.array([3, 2]), np.array([3, 3]))
    assert acc.cm.shape == (4, 4)
    assert acc.compute()["accuracy"] == 0.75
    assert acc.compute()["f1_macro"] == pytest.approx(
        M.f1_score(np.array([0, 1, 3, 2]), np.array([0, 1, 3, 3]), "macro")
    )
    acc.reset()
    assert acc.n == 0 and acc.compute() == {"accuracy": 0.0, "f1_macro": 0.0}


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_accumulator_regression_equals_whole_arrays(offset):
    y = RNG.standard_normal((257, 2)) + offset
    p = y + 0.3 * RNG.standard_normal((257, 2))
    acc = M.MetricAccumulator(["mse", "rmse", "mae", "r2"], "regression")
    for s in batches(257, [100, 1, 50, 106]):
        acc.update(p[s], y[s])
    v = acc.compute()
    assert v["mse"] == pytest.approx(M.mse(p, y))
    assert v["rmse"] == pytest.approx(M.rmse(p, y))
    assert v["mae"] == pytest.approx(M.mae(p, y))
    assert v["r2"] == pytest.approx(ref_r2(y, p), rel=1e-9)


def test_accumulator_rejects_mixed_tasks():
    with pytest.raises(ValueError, match="regression metric"):
        M.MetricAccumulator(["accuracy", "mse"], "classification")
    with pytest.raises(ValueError, match="unknown metric"):
        M.MetricAccumulator(["acc"], "classification")
