"""Exceptions for bad or missing data (the CLI maps them to exit code 3)."""

from __future__ import annotations


class DatasetError(ValueError):
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
