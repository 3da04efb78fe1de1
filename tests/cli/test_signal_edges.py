"""Signals at the edges of the CLI's handling.

A Ctrl-C that Python drops still stops the command: raised inside a finalizer (a __del__, the
import system's module-lock callback) a KeyboardInterrupt cannot propagate, and a run started
anyway and trained to its last epoch (exit 0). Those cases deliver a real SIGINT to the main
thread inside such a place, during a real command's library call.

A signal the caller ignores stays ignored: a run started with nohup survives its terminal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from _tiny_runs import TINY_DIGITS

from torchlite.training import interrupts

# Each program runs a real command (argv) as the `torchlite` program would, after `patch`,
# which wraps a library function so that `sigint_here()` runs somewhere. It delivers a real
# SIGINT to the main thread (pthread_kill), whose handler then runs in its loop, inside the
# caller: a __del__ of an object dropped at once, where Python prints "Exception ignored" and
# carries on; a class's __set_name__; an exit hook.
_PROGRAM = """\
import atexit, signal, sys, threading
sys.argv = {argv!r}
import torchlite_cli.main, torchlite.training.api as api, torchlite.training.trainer as trainer

def sigint_here():
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)
    for _ in range(10000):
        pass

class Dropped:
    def __del__(self):
        sigint_here()

{patch}
torchlite_cli.main.app()
"""


def _tiny(tmp_path, epochs=50):
    cfg = TINY_DIGITS.format(name="t", root=tmp_path / "runs")
    epochs = f"trainer: {{epochs: {epochs}, early_stopping: null}}"
    (tmp_path / "c.yaml").write_text(cfg.replace("trainer: {epochs: 1}", epochs))


def _run_program(tmp_path, argv: list[str], patch: str):
    if not hasattr(signal, "pthread_kill"):
        pytest.skip("signal.pthread_kill is POSIX only")
    (tmp_path / "prog.py").write_text(_PROGRAM.format(argv=["torchlite", *argv], patch=patch))
    return subprocess.run([sys.executable, "-m", "prog"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


def test_a_ctrl_c_dropped_in_a_finalizer_before_training_stops_the_run(tmp_path):
    # write_config: the trainer calls it first in fit, before its own handler
    _tiny(tmp_path)
    proc = _run_program(tmp_path, ["train", "c.yaml", "--plain", "--no-plots"], """\
original = trainer.write_config

def write_config(*args, **kwargs):
    Dropped()
    return original(*args, **kwargs)

trainer.write_config = write_config""")
    assert proc.returncode == 130, proc.stderr[-2000:]
    # Python's "Exception ignored ... Traceback" report of the dropped interrupt is left out
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    run = tmp_path / "runs" / "t"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["stop_reason"] == "SIGINT"
    # stopped at the first step boundary, as a Ctrl-C just after the handler is installed
    assert (run / "weights" / "last.safetensors").is_file()
    assert "epoch 1:" not in proc.stderr, "an epoch ended: the Ctrl-C was not seen"
    # and the run resumes from there to its end
    resumed = subprocess.run([sys.executable, "-m", "torchlite_cli", "train", "--resume",
                              str(run), "trainer.epochs=2", "--plain", "--no-plots"],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_a_ctrl_c_turned_into_another_error_ends_as_interrupted(tmp_path):
    # Python 3.11 wraps an exception raised in a class's __set_name__ in a RuntimeError
    # (later versions let it through): either way the command says "interrupted", exit 130
    (tmp_path / "c.yaml").write_text("")
    proc = _run_program(tmp_path, ["validate", "c.yaml"], """\
class Named:
    def __set_name__(self, owner, name):
        sigint_here()

def validate(*args, **kwargs):
    type('Owner', (), {'field': Named()})

api.validate = validate""")
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert proc.stderr.strip() == "error: interrupted"


def test_a_ctrl_c_dropped_after_the_library_returned_ends_as_interrupted(tmp_path):
    # the command's work finished, but the user asked it to stop: no result is rendered
    _tiny(tmp_path)
    proc = _run_program(tmp_path, ["validate", "c.yaml"], """\
original = api.validate

def validate(*args, **kwargs):
    result = original(*args, **kwargs)
    Dropped()
    return result

api.validate = validate""")
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert proc.stderr.strip() == "error: interrupted" and proc.stdout == ""


def test_a_ctrl_c_while_the_process_exits_makes_the_status_130(tmp_path):
    # an exit hook of the library's (registered during the command) runs after the command,
    # in Python's shutdown: a KeyboardInterrupt there printed a traceback and exited 1. The
    # hooks registered before it still run (a file is written by one).
    _tiny(tmp_path)
    proc = _run_program(tmp_path, ["validate", "c.yaml"], """\
def later():
    open('later-hook-ran', 'w').close()

original = api.validate

def validate(*args, **kwargs):
    atexit.register(later)  # runs after sigint_here (last in, first out)
    atexit.register(sigint_here)
    return original(*args, **kwargs)

api.validate = validate""")
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert proc.stderr == "" and proc.stdout.startswith("c.yaml: OK")
    assert (tmp_path / "later-hook-ran").is_file()


def test_the_record_is_kept_until_taken():
    assert interrupts.received() is None
    try:
        with pytest.raises(KeyboardInterrupt):
            interrupts.record_and_raise(2, None)
        assert interrupts.received() == "SIGINT"
        assert interrupts.take() == "SIGINT"
        assert interrupts.received() is None and interrupts.take() is None
    finally:
        interrupts.take()  # a record left behind would stop the next trainer in this process


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_the_trainer_leaves_an_ignored_signal_ignored():
    old, sigint = signal.signal(signal.SIGHUP, signal.SIG_IGN), signal.getsignal(signal.SIGINT)
    try:
        with interrupts.Signals() as sig:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGINT) == sig._handle
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is sigint
    finally:
        signal.signal(signal.SIGHUP, old)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_a_run_started_with_nohup_survives_a_hang_up(tmp_path):
    _tiny(tmp_path, epochs=400)
    proc = subprocess.Popen(
        [sys.executable, "-m", "torchlite_cli", "train", "c.yaml", "--plain", "--no-plots"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # what nohup does
    for line in proc.stderr:
        if line.startswith("epoch 2"):
            break
    assert proc.poll() is None, "the run ended before the hang-up"
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    summary = json.loads((tmp_path / "runs" / "t" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["stop_reason"] == "max_epochs"
