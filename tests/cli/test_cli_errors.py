"""cli/errors.classify: the exit code comes from the exception's class (torchlite.errors), never
from its message; a plain ValueError or RuntimeError is a bug (exit 1), not bad data."""

from __future__ import annotations

import pytest
from torchlite_cli import errors as cli_errors
from torchlite_cli.errors import classify
from torchlite_cli.main import app
from typer.testing import CliRunner

from torchlite import errors as E

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_the_cli_codes_are_the_library_codes():
    for name in ("OK", "INTERNAL", "USAGE", "BAD_DATA", "DIVERGED", "INTERRUPTED"):
        assert getattr(cli_errors, name) == getattr(E, name), name


@pytest.mark.parametrize("exc, code", [
    (E.ConfigError("c.yaml:2: model.type: unknown"), 2),
    (E.UsageError("--split val: no val split"), 2),
    (E.UntrustedModelCodeError("pass --model-code"), 2),
    (E.RegistryError("cannot import x"), 2),
    (E.DeviceUnavailableError("CUDA is not available: no GPU"), 2),
    (E.DataError("d.npz: label 12 is outside the model's classes"), 3),
    (E.DatasetError("d.csv, line 3: expected a number"), 3),
    (E.DatasetNotFoundError("digits: files not found"), 3),
    (E.CheckpointError("w.safetensors: truncated"), 3),
    (E.UserModelError("model.py: forward failed"), 3),
    (E.InputNotFoundError("x.npy: no such input file"), 3),
    (E.CheckpointNotFoundError("runs/a: no checkpoint"), 3),
    (E.OutOfMemoryError("CUDA out of memory: 1.00 GiB"), 1),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_a_library_error_gives_its_class_code_and_its_message(exc, code):
    assert classify(exc) == (code, str(exc))


def test_divergence_and_interruption_keep_their_own_lines():
    assert classify(E.TrainingDiverged("loss is nan at epoch 2")) == \
        (4, "training diverged: loss is nan at epoch 2")
    code, msg = classify(E.TrainingInterrupted("SIGTERM"), run_dir="runs/a")
    assert code == 130 and "SIGTERM" in msg and "--resume runs/a" in msg
    assert classify(KeyboardInterrupt()) == (130, "interrupted")


@pytest.mark.parametrize("exc", [
    ValueError("could not broadcast input array from shape (3,) into shape (4,)"),
    RuntimeError("CUDA is not available"),  # the words alone do not make it a device error
    TypeError("unsupported operand"),
    KeyError("epoch"),
    E.BenchmarkError("lenet5/torch failed: TypeError"),  # a failure of the run, not the user
    E.GradcheckError("input 0: Jacobians differ"),
], ids=lambda e: type(e).__name__)
def test_an_error_outside_the_hierarchy_is_internal(exc):
    code, msg = classify(exc)
    assert code == 1
    assert msg == f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the " \
                  "traceback)"


def test_a_value_error_from_a_bug_is_exit_1_not_3(monkeypatch):
    from torchlite.training import api

    def buggy(*args, **kwargs):
        raise ValueError("operands could not be broadcast together with shapes (2,) (3,)")

    monkeypatch.setattr(api, "evaluate_checkpoint", buggy)
    r = cli("eval", "runs/whatever")
    assert r.exit_code == 1, r.output
    assert r.output.strip() == "error: internal error: ValueError: operands could not be " \
                               "broadcast together with shapes (2,) (3,) (rerun with --debug " \
                               "for the traceback)"
    r = cli("--debug", "eval", "runs/whatever")
    assert r.exit_code == 1 and "Traceback" in r.output


def test_the_same_message_as_a_data_error_is_exit_3(monkeypatch):
    from torchlite.training import api

    def bad_data(*args, **kwargs):
        raise E.DataError("d.npz: label 12 (sample 1) is outside the model's classes 0..9")

    monkeypatch.setattr(api, "evaluate_checkpoint", bad_data)
    r = cli("eval", "runs/whatever")
    assert r.exit_code == 3, r.output
    assert r.output.strip() == "error: d.npz: label 12 (sample 1) is outside the model's " \
                               "classes 0..9"
