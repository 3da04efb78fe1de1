"""Maps library exceptions to one-line messages and the exit codes of DESIGN.md section 6."""

from __future__ import annotations

OK, INTERNAL, USAGE, BAD_DATA, DIVERGED, INTERRUPTED = 0, 1, 2, 3, 4, 130


def classify(exc: BaseException) -> tuple[int, str]:
    """(exit code, message) for an exception raised by a command."""
    from torchlite.datasets import DatasetError
    from torchlite.serialization import CheckpointError
    from torchlite.training.loader import ConfigError
    from torchlite.training.registry import RegistryError
    from torchlite.training.runs import CheckpointNotFoundError
    from torchlite.training.trainer import TrainingDiverged, TrainingInterrupted

    if isinstance(exc, (ConfigError, RegistryError)):
        return USAGE, str(exc)
    if isinstance(exc, TrainingDiverged):
        return DIVERGED, f"training diverged: {exc}"
    if isinstance(exc, (TrainingInterrupted, KeyboardInterrupt)):
        return INTERRUPTED, f"interrupted ({exc or 'SIGINT'}); the last weights and training " \
                            "state were saved: continue with torchlite train --resume RUN_DIR"
    if isinstance(exc, (CheckpointError, CheckpointNotFoundError, DatasetError)):
        return BAD_DATA, str(exc)
    if isinstance(exc, FileNotFoundError):
        return BAD_DATA, str(exc)
    if isinstance(exc, RuntimeError) and "CUDA is not available" in str(exc):
        return USAGE, str(exc)
    if isinstance(exc, ValueError):
        return BAD_DATA, str(exc)
    return INTERNAL, f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the " \
                     "traceback)"
