"""Errors a user can cause. The CLI prints their message on one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class KgAgentError(Exception):
    """Base class for every error caused by user input (files, options, workspaces)."""


class InputError(KgAgentError):
    """Bad input data, located at a file and (when known) a line or field.

    >>> str(InputError("wrong column count: expected 3, got 2", path="kb.tsv", line=7))
    'kb.tsv:7: wrong column count: expected 3, got 2'
    """

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        where = self.path or ""
        if line is not None:
            where += f":{line}"
        if field is not None:
            where += f" [{field}]"
        where = where.strip()
        super().__init__(f"{where}: {message}" if where else message)


class WorkspaceError(KgAgentError):
    """A workspace is missing, incomplete, or lacks the artifact a step needs."""


class ConfigError(KgAgentError):
    """A configuration value is invalid; the message names the field."""
