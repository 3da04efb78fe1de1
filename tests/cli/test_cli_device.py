"""The CLI's --device option and GPU errors: where no GPU exists, asking for one is a usage
error (exit 2) that names the extras; running out of memory is one line and exit 1."""

from __future__ import annotations

import numpy as np
import pytest
from _tiny_runs import digits_config
from torchlite_cli.errors import classify
from torchlite_cli.main import app
from typer.testing import CliRunner

import torchlite

runner = CliRunner()

no_gpu = pytest.mark.skipif("torchlite.cuda.is_available()", reason="a GPU is present")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def write_cfg(tmp_path, device="cpu", epochs=1):
    return digits_config(tmp_path, "dev", device=device, epochs=epochs, batch_size=64, data="")


def _one_clean_error(r, code: int, *fragments: str) -> None:
    assert r.exit_code == code, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    for f in fragments:
        assert f in r.output, r.output


@no_gpu
@pytest.mark.parametrize("how", ["option", "config", "override"])
def test_train_on_cuda_without_a_gpu_exits_2_and_leaves_no_run(tmp_path, how, cupy_missing):
    if how == "option":
        r = cli("train", write_cfg(tmp_path), "--device", "cuda")
    elif how == "config":
        r = cli("train", write_cfg(tmp_path, device="cuda"))
    else:
        r = cli("train", write_cfg(tmp_path), "device=cuda:0")
    _one_clean_error(r, 2, "CUDA is not available", "torchlite[cuda12]", "torchlite[cuda13]")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@no_gpu
def test_eval_and_infer_on_cuda_without_a_gpu_exit_2(tmp_path):
    assert cli("train", write_cfg(tmp_path)).exit_code == 0
    run = tmp_path / "runs" / "dev"
    x = tmp_path / "x.npy"
    np.save(x, torchlite.datasets.digits().inputs[:3])
    _one_clean_error(cli("eval", run, "--device", "cuda"), 2, "CUDA is not available")
    _one_clean_error(cli("infer", x, "--checkpoint", run, "--device", "cuda:0"), 2,
                     "CUDA is not available")
    # the device is checked before the checkpoint is looked for
    _one_clean_error(cli("eval", tmp_path / "nowhere", "--device", "cuda"), 2,
                     "CUDA is not available")
    # and the same run works on the CPU
    assert cli("eval", run, "--device", "cpu").exit_code == 0
    assert cli("infer", x, "--checkpoint", run, "--device", "cpu", "--output",
               tmp_path / "p.csv").exit_code == 0


def test_a_malformed_device_is_a_usage_error(tmp_path):
    _one_clean_error(cli("eval", tmp_path, "--device", "gpu"), 2,
                     "device: expected auto, cpu, cuda or cuda:N, got 'gpu'; did you mean 'cuda'?")
    _one_clean_error(cli("train", write_cfg(tmp_path), "--device", "gpu"), 2, "did you mean")


def test_out_of_memory_is_one_line_with_exit_1(tmp_path, monkeypatch):
    from torchlite.training.trainer import Trainer

    def step(self):
        raise torchlite.cuda.OutOfMemoryError(
            "CUDA out of memory on cuda:0: tried to allocate 2.00 GiB; the memory pool holds "
            "9.00 GiB (9663676416 bytes), of which 8.00 GiB (8589934592 bytes) are in use by "
            "tensors; try a smaller batch size")

    monkeypatch.setattr(Trainer, "_optimizer_step", step)
    r = cli("train", write_cfg(tmp_path))
    assert r.exit_code == 1, r.output
    err = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "Traceback" not in r.output
    assert "tried to allocate 2.00 GiB" in err[0] and "no epoch had finished" in err[0]
    assert "internal error" not in err[0]


def test_classify_memory_errors():
    code, msg = classify(torchlite.cuda.OutOfMemoryError("CUDA out of memory: 1.00 GiB"))
    assert (code, msg) == (1, "CUDA out of memory: 1.00 GiB")
    code, msg = classify(MemoryError("Unable to allocate 8.00 GiB for an array"))
    assert code == 1 and msg.startswith("out of host memory: Unable to allocate 8.00 GiB")
    assert "smaller batch size" in msg
