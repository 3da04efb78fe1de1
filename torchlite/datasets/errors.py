"""Exceptions for bad or missing data (the CLI maps them to exit code 3)."""

from __future__ import annotations


class DatasetError(ValueError):
    """A data file or array is malformed, inconsistent or of an unsupported kind."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The files a dataset needs are not where they were looked for (the message says which
    files, where, and how to get them)."""
