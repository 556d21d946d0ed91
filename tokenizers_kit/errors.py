"""User-facing errors: one line saying what is wrong and what to do.

The CLI turns a `TkitError` into that line on stderr and exit code 1; anything else is a bug and keeps its
traceback. Library users catch `TkitError` (or the subclasses) as they would `ValueError`.
"""
from __future__ import annotations


class TkitError(Exception):
    """A mistake in the user's input (file, option, model) that the user can fix."""


class CorpusError(TkitError):
    """A training or evaluation corpus cannot be used (missing, empty, not UTF-8)."""


class ModelFileError(TkitError):
    """A model or tokenizer file is missing, truncated, corrupt, or not a tkit file."""
