"""torchlite's exceptions: one hierarchy whose classes carry the CLI's exit code.

Every class also subclasses the built-in exception a PyTorch user expects to catch (ValueError
for a bad config or bad data, RuntimeError for a diverged run or a missing GPU, FileNotFoundError
for a missing file, ImportError for a name that cannot be imported), so `except ValueError` keeps
working; the CLI reads `exit_code` from the class and never looks at the message:

    TorchliteError                       1  internal: a failure that is not the user's input
      BadUsageError                      2  a config, option or argument the command cannot use
        ConfigError (ValueError)            ... a config file, override or dict
        UsageError (ValueError)             ... an option that does not fit what it is given
          UntrustedModelCodeError           ... custom model code nobody said to trust
        RegistryError (ImportError)         ... a name or `target` that cannot be imported
        DeviceUnavailableError (RuntimeError)  a device this machine does not have
      BadInputError                      3  data, an input or a checkpoint: missing or malformed
        DataError (ValueError)              ... malformed, or not what the model takes
          DatasetError, CheckpointError, UserModelError
        InputNotFoundError (FileNotFoundError)
          CheckpointNotFoundError
      MachineError                       1  the machine cannot run it as asked
        OutOfMemoryError (RuntimeError)
      TrainingDiverged (RuntimeError)    4
      TrainingInterrupted               130
      GradcheckError, BenchmarkError (RuntimeError)  1

A ValueError or RuntimeError that is none of these is a bug, and the CLI says "internal error".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "BAD_DATA", "DIVERGED", "INTERNAL", "INTERRUPTED", "OK", "USAGE",
    "BadInputError", "BadUsageError", "BenchmarkError", "CheckpointError",
    "CheckpointNotFoundError", "ConfigError", "ConfigProblem", "DataError", "DatasetError",
    "DatasetNotFoundError", "DeviceUnavailableError", "GradcheckError", "InputNotFoundError",
    "MachineError", "MissingArrayError", "OutOfMemoryError", "RegistryError", "TorchliteError",
    "TrainingDiverged", "TrainingInterrupted", "UntrustedModelCodeError", "UsageError",
    "UserModelError",
]

# DESIGN.md section 6
OK, INTERNAL, USAGE, BAD_DATA, DIVERGED, INTERRUPTED = 0, 1, 2, 3, 4, 130


class TorchliteError(Exception):
    """Base of torchlite's own exceptions; `exit_code` is the CLI's exit status for it."""

    exit_code: ClassVar[int] = INTERNAL


# -- 2: bad usage or config -----------------------------------------------------------------------
class BadUsageError(TorchliteError):
    """A config, option or argument that the command cannot work with (exit code 2)."""

    exit_code: ClassVar[int] = USAGE


MAX_MESSAGE = 1000  # characters of one problem's message shown; the rest is counted


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in a config: where it is and what was expected."""

    file: str | None
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        if self.path:
            parts.append(self.path)
        message = self.message
        if len(message) > MAX_MESSAGE:  # a 10 MB value is named, not echoed whole
            message = f"{message[:MAX_MESSAGE]}... ({len(message):,} characters in all)"
        parts.append(message)
        return ": ".join(parts)


class ConfigError(BadUsageError, ValueError):
    """A config (file, override or dict) is invalid. `problems` lists every mistake found."""

    def __init__(self, problems: str | ConfigProblem | Iterable[str | ConfigProblem]) -> None:
        if isinstance(problems, (str, ConfigProblem)):
            problems = [problems]
        self.problems: list[ConfigProblem] = [
            p if isinstance(p, ConfigProblem) else ConfigProblem(None, None, "", str(p))
            for p in problems
        ]
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(BadUsageError, ValueError):
    """An argument of a command that does not fit what it is applied to (a split the run does
    not have, probabilities of a regression model, an array name for a file without arrays);
    the CLI exits with 2, as for a config error."""


class UntrustedModelCodeError(UsageError):
    """A checkpoint's model is custom Python code, and the command did not say which code to
    trust. A usage error (exit 2): the fix is an option of the command."""


class RegistryError(BadUsageError, ImportError):
    """A registered name (or a custom `target`) could not be imported."""


class DeviceUnavailableError(BadUsageError, RuntimeError):
    """The device asked for is not on this machine: no cupy or no GPU for 'cuda', or a GPU
    index past the last. A RuntimeError, as PyTorch's; exit code 2, since the fix is another
    --device (or installing the CUDA extra)."""


# -- 3: bad data, input or checkpoint -------------------------------------------------------------
class BadInputError(TorchliteError):
    """Data, an input file or a checkpoint that is missing, malformed or does not fit the model
    (exit code 3)."""

    exit_code: ClassVar[int] = BAD_DATA


class DataError(BadInputError, ValueError):
    """Data, inputs or a checkpoint that are malformed or do not fit what they are given to (the
    message names the file and what is wrong)."""


class DatasetError(DataError):
    """A data file or array is malformed, inconsistent or of an unsupported kind."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The files a dataset needs are not where they were looked for (the message says which
    files, where, and how to get them)."""


class MissingArrayError(DatasetError):
    """An .npz archive lacks the array asked for. `path`, `role` ("inputs" or "targets"),
    `key` and `keys` (the arrays the file has) let a caller that took the key from elsewhere
    (a config's data.x_key / data.y_key) say what to change there."""

    def __init__(self, message: str, *, path, role: str, key: str, keys) -> None:
        super().__init__(message)
        self.path, self.role, self.key, self.keys = path, role, key, sorted(keys)


class CheckpointError(DataError):
    """A file that is not a valid torchlite/safetensors checkpoint (truncated, corrupt, pickle)."""


class UserModelError(DataError):
    """A custom model's own code (its constructor or forward) failed, or forward returned no
    Tensor. A ValueError, so the CLI shows the message and exits 3 rather than 'internal error'."""


class InputNotFoundError(BadInputError, FileNotFoundError):
    """A file or folder given as input (data, inputs, a checkpoint) does not exist; the message
    names it."""


class CheckpointNotFoundError(InputNotFoundError):
    """A CHECKPOINT_OR_RUN argument names no usable checkpoint (message says what was tried)."""


# -- 1: the machine -------------------------------------------------------------------------------
class MachineError(TorchliteError):
    """The machine cannot run the command as asked (exit code 1, with its own message rather
    than "internal error"): the same command succeeds on a machine with more memory."""


class OutOfMemoryError(MachineError, RuntimeError):
    """The GPU ran out of memory, as `torch.cuda.OutOfMemoryError` (a RuntimeError).

    The message gives the bytes requested, the memory pool's usage and a hint.
    """


# -- training outcomes ----------------------------------------------------------------------------
class TrainingDiverged(TorchliteError, RuntimeError):
    """The loss became NaN or Inf (exit code 4)."""

    exit_code: ClassVar[int] = DIVERGED


class TrainingInterrupted(TorchliteError):
    """SIGINT/SIGTERM: the current step finished and `last` was saved (exit code 130)."""

    exit_code: ClassVar[int] = INTERRUPTED


# -- 1: checks that failed ------------------------------------------------------------------------
class GradcheckError(TorchliteError, RuntimeError):
    """An analytic gradient disagrees with its numerical estimate (autograd.gradcheck)."""


class BenchmarkError(TorchliteError, RuntimeError):
    """A benchmark could not be measured: the frameworks disagree numerically (their times
    would mean nothing), or a worker process failed."""
