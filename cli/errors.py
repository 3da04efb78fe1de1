"""Maps library exceptions to one-line messages and the exit codes of DESIGN.md section 6.

Running out of memory (GPU or host) exits with 1: it is not a fault of the config (2) or of
the data, input or checkpoint (3), since the same command succeeds on a machine with more
memory; it is a failure at run time, the kind 1 stands for, but with its own clear message (the
bytes requested, the pool's usage, the fix) instead of "internal error".
"""

from __future__ import annotations

OK, INTERNAL, USAGE, BAD_DATA, DIVERGED, INTERRUPTED = 0, 1, 2, 3, 4, 130


def classify(exc: BaseException) -> tuple[int, str]:
    """(exit code, message) for an exception raised by a command."""
    from torchlite.backend import OutOfMemoryError
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
    if isinstance(exc, OutOfMemoryError):
        return INTERNAL, str(exc)
    if isinstance(exc, MemoryError):  # NumPy: "Unable to allocate 2.00 GiB for an array ..."
        return INTERNAL, f"out of host memory: {exc or 'an allocation failed'}; try a smaller " \
                         "batch size"
    if isinstance(exc, RuntimeError) and "CUDA is not available" in str(exc):
        return USAGE, str(exc)
    if isinstance(exc, ValueError):
        return BAD_DATA, str(exc)
    return INTERNAL, f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the " \
                     "traceback)"
