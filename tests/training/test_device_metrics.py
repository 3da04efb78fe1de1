"""DeviceAccumulator: device-side metric sums give the host accumulator's values.

The accumulator is written over the array module, so these tests drive it with NumPy arrays
(the GPU runs the same code with CuPy's; `test_on_the_device` checks that where a GPU exists).
"""

from __future__ import annotations

import numpy as np
import pytest

import torchlite
from torchlite.training.device_metrics import DeviceAccumulator
from torchlite.training.metrics import MetricAccumulator

CLS = ["accuracy", "top2_accuracy", "f1_macro", "f1_weighted", "precision_macro",
       "recall_weighted"]
REG = ["mse", "rmse", "mae", "r2"]


def _batches(rng, kind: str, n_batches: int = 5):
    for i in range(n_batches):
        b = 7 + i
        if kind == "multiclass":
            out = rng.normal(size=(b, 4)).astype(np.float32)
            y = rng.integers(0, 4, size=b)
            y[::5] = -100  # ignored targets are left out
        elif kind == "positions":  # (N, C, L) scores, (N, L) targets
            out = rng.normal(size=(b, 3, 5)).astype(np.float32)
            y = rng.integers(0, 3, size=(b, 5))
        elif kind == "binary":
            out = rng.normal(size=(b, 1)).astype(np.float32)
            y = rng.integers(0, 2, size=b)
        elif kind == "onehot":
            out = rng.normal(size=(b, 3)).astype(np.float32)
            y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=b)]
        else:  # regression, two outputs with a large offset (Chan's update keeps it stable)
            out = rng.normal(size=(b, 2)) + 1e4
            y = (rng.normal(size=(b, 2)) + 1e4).astype(np.float32)
        loss = np.asarray(rng.random(), dtype=np.float32)
        yield out, y, loss


@pytest.mark.parametrize("kind", ["multiclass", "positions", "binary", "onehot"])
def test_classification_equals_the_host_accumulator(kind):
    metrics = [m for m in CLS if kind in ("multiclass", "onehot") or not m.startswith("top")]
    n_classes = {"multiclass": 4, "positions": 3, "binary": None, "onehot": 3}[kind]
    host = MetricAccumulator(metrics, "classification", n_classes)
    dev = DeviceAccumulator(MetricAccumulator(metrics, "classification", n_classes))
    for out, y, loss in _batches(np.random.default_rng(0), kind):
        host.update(out, y, loss=loss)
        dev.update(out, y, loss=loss)
    got = dev.compute()
    want = host.compute()
    assert got == want  # counts are exact; the loss takes the same float64 steps
    assert np.array_equal(dev.host.cm, host.cm) and dev.host.n == host.n


def test_regression_equals_the_host_accumulator():
    host = MetricAccumulator(REG, "regression")
    dev = DeviceAccumulator(MetricAccumulator(REG, "regression"))
    for out, y, loss in _batches(np.random.default_rng(1), "regression"):
        host.update(out, y, loss=loss)
        dev.update(out, y, loss=loss)
    got, want = dev.compute(), host.compute()
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-12, abs=1e-12), k


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_flushes_merge_into_earlier_sums(task):
    """A resumed epoch loads the host sums, then the device adds to them; flushing every few
    batches (a logging interval) gives the same values as one flush."""
    metrics, kind = (CLS[:3], "multiclass") if task == "classification" else (REG, "regression")
    host = MetricAccumulator(metrics, task, 4 if kind == "multiclass" else None)
    dev = DeviceAccumulator(MetricAccumulator(metrics, task, 4 if kind == "multiclass" else None))
    for i, (out, y, loss) in enumerate(_batches(np.random.default_rng(2), kind, 9)):
        host.update(out, y, loss=loss)
        if i < 2:
            dev.host.update(out, y, loss=loss)  # sums restored from a saved partial epoch
        else:
            dev.update(out, y, loss=loss)
        if i in (4, 6):
            dev.flush()
    got, want = dev.compute(), host.compute()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-12, abs=1e-12), k
    state = dev.host.state_dict()  # the merged sums still save and load as the host's
    back = MetricAccumulator(metrics, task, 4 if kind == "multiclass" else None)
    back.load_state_dict(state)
    assert back.compute() == got


def test_integer_predictions_without_a_class_count_fall_back_to_the_host():
    host = MetricAccumulator(["accuracy"], "classification")
    dev = DeviceAccumulator(MetricAccumulator(["accuracy"], "classification"))
    pred, y = np.array([0, 5, 2, 2]), np.array([0, 5, 1, 2])
    host.update(pred, y)
    dev.update(pred, y)
    assert dev.compute() == host.compute() == {"accuracy": 0.75}


def test_pairs_outside_the_classes_are_not_counted_and_the_matrix_keeps_its_size():
    dev = DeviceAccumulator(MetricAccumulator(["accuracy"], "classification", 3))
    scores = np.eye(3, dtype=np.float32)[[0, 1, 2, 1, 0]]  # predictions 0, 1, 2, 1, 0
    dev.update(scores, np.array([0, -1, 2, 9, 1]))
    assert dev._cm.shape == (3, 3)
    assert dev._cm.tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]


def test_on_the_device(device):
    rng = np.random.default_rng(3)
    host = MetricAccumulator(CLS, "classification", 4)
    dev = DeviceAccumulator(MetricAccumulator(CLS, "classification", 4))
    for out, y, loss in _batches(rng, "multiclass"):
        host.update(out, y, loss=loss)
        d = torchlite.device(device)
        dev.update(torchlite.backend.move(out, d), torchlite.backend.move(y, d),
                   loss=torchlite.backend.move(loss, d))
    assert dev.compute() == host.compute()
