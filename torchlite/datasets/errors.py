"""Exceptions for bad or missing data (the CLI maps them to exit code 3); defined with the rest
of torchlite's exceptions in torchlite.errors."""

from __future__ import annotations

from torchlite.errors import DatasetError, DatasetNotFoundError, MissingArrayError

__all__ = ["DatasetError", "DatasetNotFoundError", "MissingArrayError"]
