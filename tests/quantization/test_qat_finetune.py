"""Quantization-aware fine-tuning (`torchlite quantize --mode qat`): the observers watch the first
epoch only, the float weights it starts from are left alone, and the int8 model it converts to
computes what the fine-tuned fake-quantized model computes."""

from __future__ import annotations

import numpy as np
import pytest
from _tiny_runs import digits_config
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite
from torchlite.ao import quantization as tq
from torchlite.training import qat_finetune
from torchlite.training.build import build_data
from torchlite.training.restore import input_transform, model_from_checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qatft")
    r = CliRunner().invoke(app, ["train", str(digits_config(tmp, "f", epochs=2)), "--plain"])
    assert r.exit_code == 0, r.output
    path = tmp / "runs" / "f" / "weights" / "best.safetensors"
    model, cfg, info = model_from_checkpoint(path, "cpu")
    bundle = build_data(cfg)
    transform = input_transform(path, info["preprocess"])
    for split in (bundle.train, bundle.test):
        split.transform = transform
    return model, cfg, bundle, info["preprocess"]


def _fake_quants(model):
    return {name: m for name, m in model.named_modules() if isinstance(m, tq.FakeQuantize)}


def test_observers_watch_the_first_epoch_only(trained):
    model, cfg, bundle, pre = trained
    one, lr1 = qat_finetune.finetune(model, cfg, bundle, pre, epochs=1)
    two, lr2 = qat_finetune.finetune(model, cfg, bundle, pre, epochs=2)
    assert lr1 == lr2 == pytest.approx(cfg.optimizer.kwargs["lr"] * qat_finetune.LR_FACTOR)
    fq1, fq2 = _fake_quants(one), _fake_quants(two)
    assert fq1.keys() == fq2.keys() and len(fq1) >= 4  # input, two layers' outputs, weights
    for name, fq in fq2.items():
        # off when returned: a forward in eval mode must not move the scales
        assert int(fq.observer_enabled[0]) == int(fq1[name].observer_enabled[0]) == 0, name
        # the second epoch trained against the scales the first one ended with
        np.testing.assert_array_equal(fq.scale.numpy(), fq1[name].scale.numpy(), err_msg=name)
        np.testing.assert_array_equal(fq.zero_point.numpy(), fq1[name].zero_point.numpy())
    w1 = dict(one.named_parameters())
    w2 = dict(two.named_parameters())
    assert any(not np.array_equal(w1[k].detach().numpy(), w2[k].detach().numpy()) for k in w1)


@pytest.mark.parametrize("backend", ["qnnpack", "x86"])
def test_the_float_model_is_left_alone_and_int8_matches_fake_quant(trained, backend):
    model, cfg, bundle, pre = trained
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    tuned, _ = qat_finetune.finetune(model, cfg, bundle, pre, epochs=1, per_channel=True,
                                     backend=backend)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.detach().numpy(), before[k], err_msg=k)
    int8 = qat_finetune.convert(tuned)
    x = torchlite.stack([bundle.test[i][0] for i in range(64)])
    with torchlite.no_grad():
        fake, real = tuned(x).numpy(), int8(x).numpy()
    assert (fake.argmax(1) == real.argmax(1)).mean() >= 0.95
    if backend == "qnnpack":
        # activations fake-quantized over 0..255, the int8 model's range: the same integers,
        # but where a float sum lands on the other side of a rounding boundary (one step)
        step = float(_fake_quants(tuned)["module.2.activation_post_process"].scale[0])
        diff = np.abs(fake - real)
        assert diff.max() <= 2.01 * step
        assert (diff > step / 2).mean() <= 0.01
    # (x86 fake-quantizes activations over 0..127, as PyTorch does, while its int8 model
    # saturates at 255: where a hidden activation saturated, a whole row of logits differs)
