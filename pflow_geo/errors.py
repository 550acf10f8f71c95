"""Exceptions raised by pflow_geo for unusable input and invalid command-line options.

The ``pflow-geo`` command prints these as one ``error:`` message without a
traceback: :class:`InputError` and its subclasses exit with status 1,
:class:`UsageError` with status 2 (see :func:`pflow_geo.cli.run_reporting_errors`).
"""

from __future__ import annotations

import os

__all__ = ["InputError", "MLTreeInputError", "CheckpointError", "UsageError"]


class InputError(Exception):
    """Input that cannot be used: a file, or the data read from it."""


class UsageError(ValueError):
    """Invalid option values or combinations. The message names the options.

    It is a ValueError, so library callers that catch ValueError for a bad
    argument still catch it.
    """


def _describe(problem: str, path: str, item: str | None, hint: str) -> str:
    lines = [problem, f"    file: {path}"]
    if item is not None:
        lines.append(f"    item: {item}")
    if hint:
        lines.append(f"    fix:  {hint}")
    return "\n".join(lines)


class MLTreeInputError(InputError):
    """An MLTree input file, tree or branch that cannot be used.

    Raised for a missing file, a file that is not ROOT or is truncated, a
    missing tree or branch, and values that are invalid or in the wrong unit.
    The message names the file, the item and what to do.

    Attributes:
        path: The file the problem was found in.
        item: The tree, branch or value concerned, or None for the whole file.
        hint: What the user can do about it.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, *, item: str | None = None, hint: str = "") -> None:
        self.path = os.fspath(path)
        self.item = item
        self.hint = hint
        self.problem = problem
        super().__init__(_describe(problem, self.path, item, hint))

    def __reduce__(self):  # keeps the exception picklable across worker processes
        return (_rebuild, (self.path, self.problem, self.item, self.hint))


def _rebuild(path: str, problem: str, item: str | None, hint: str) -> MLTreeInputError:
    return MLTreeInputError(path, problem, item=item, hint=hint)


class CheckpointError(InputError, ValueError):
    """A file that is not a readable checkpoint of ``pflow-geo train``.

    It is also a ValueError, so callers that catch the ValueError documented by
    :func:`pflow_geo.training.checkpoints.read_checkpoint` still catch it.

    Attributes:
        path: The checkpoint file.
        hint: What the user can do about it.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, *, hint: str = "") -> None:
        self.path = os.fspath(path)
        self.problem = problem
        self.hint = hint
        super().__init__(_describe(problem, self.path, None, hint))
