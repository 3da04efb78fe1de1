"""On a GPU a training step never waits for the device.

CuPy's sync detection (`cupyx.allow_synchronize(False)`) raises where CuPy would block the host
on the device: reading a value back, synchronising a stream. Inside it run what the trainer does
per batch: forward (the fused Linear/Conv2d + ReLU nodes, dropout), cross-entropy, backward,
gradient clipping, the fused optimizer step, and the metric sums kept on the device. Only the
epoch's end reads back. CuPy calls the detection best effort (it sees CuPy's own reads, such
as `.get()`, `float()` or `bool()` of a device array, not every implicit wait), so a pass
bounds the problem rather than proving its absence. Needs a GPU; skipped elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest

import torchlite
from torchlite import nn
from torchlite.training.device_metrics import DeviceAccumulator
from torchlite.training.metrics import MetricAccumulator
from torchlite.training.models import lenet5, mlp

pytestmark = [pytest.mark.cuda,
              pytest.mark.filterwarnings("ignore:cupyx.allow_synchronize will be removed")]

MODELS = {
    "mlp": (lambda: mlp(64, [32, 16], 10, dropout=0.1), (16, 64)),
    "lenet5": (lambda: lenet5(1, 10, image_size=(28, 28), dropout=0.1), (8, 1, 28, 28)),
}
OPTIMIZERS = {
    "sgd": lambda ps: torchlite.optim.SGD(ps, lr=0.01, momentum=0.9),
    "adamw": lambda ps: torchlite.optim.AdamW(ps, lr=1e-3),
}


@pytest.mark.parametrize("opt_name", OPTIMIZERS)
@pytest.mark.parametrize("model_name", MODELS)
def test_a_training_step_does_not_wait_for_the_device(model_name, opt_name):
    if not torchlite.cuda.is_available():
        pytest.skip("CUDA is not available (needs cupy and an NVIDIA GPU: torchlite[cuda12])")
    import cupyx

    torchlite.manual_seed(0)
    build, shape = MODELS[model_name]
    model = build().to("cuda")
    opt = OPTIMIZERS[opt_name](model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = torchlite.tensor(rng.standard_normal(shape, dtype=np.float32)).to("cuda")
    y = torchlite.tensor(rng.integers(0, 10, shape[0])).to("cuda")
    acc = DeviceAccumulator(MetricAccumulator(["accuracy", "top5_accuracy", "f1_macro"],
                                              "classification", 10))

    def step():
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        acc.update(out.detach()._data, y._data, loss.detach()._data)
        return loss

    step()  # the first steps compile kernels and make the optimizer's state
    step()
    with cupyx.allow_synchronize(False):
        for _ in range(3):
            loss = step()
    result = acc.flush().compute()  # the epoch's end: reading back is expected here
    assert np.isfinite(float(loss.detach().cpu()))
    assert result["loss"] > 0 and 0 <= result["accuracy"] <= 1
