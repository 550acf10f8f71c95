"""Exceptions raised by pflow_geo for unusable input."""

from __future__ import annotations

import os

__all__ = ["MLTreeInputError"]


class MLTreeInputError(Exception):
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
        lines = [problem, f"    file: {self.path}"]
        if item is not None:
            lines.append(f"    item: {item}")
        if hint:
            lines.append(f"    fix:  {hint}")
        super().__init__("\n".join(lines))

    def __reduce__(self):  # keeps the exception picklable across worker processes
        return (_rebuild, (self.path, self.problem, self.item, self.hint))


def _rebuild(path: str, problem: str, item: str | None, hint: str) -> MLTreeInputError:
    return MLTreeInputError(path, problem, item=item, hint=hint)
