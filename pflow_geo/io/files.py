"""Open ROOT files and trees with errors that say what is wrong and what to do."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import uproot

from ..errors import MLTreeInputError

__all__ = ["open_root_file", "list_objects", "get_tree", "tree_branch_names", "read_branches", "is_rntuple"]

_ROOT_MAGIC = b"root"


def open_root_file(path: str | os.PathLike[str]) -> Any:
    """Open a ROOT file with uproot, raising MLTreeInputError for a missing, non-ROOT or damaged file."""
    path = Path(path)
    if not path.exists():
        raise MLTreeInputError(path, "file not found", hint="check the path; simulated files are made with `pflow-geo simulate`")
    if path.is_dir():
        raise MLTreeInputError(path, "expected a ROOT file but found a directory", hint="pass the .root file itself")
    with open(path, "rb") as stream:
        magic = stream.read(4)
    if magic != _ROOT_MAGIC:
        raise MLTreeInputError(
            path,
            f"not a ROOT file: it starts with {magic!r} instead of {_ROOT_MAGIC!r}",
            hint="pass an MLTree ROOT file; the file may be a different format or empty",
        )
    try:
        return uproot.open(path)
    except Exception as error:  # uproot raises many types for a damaged header
        raise MLTreeInputError(
            path,
            f"cannot open the ROOT file ({_describe(error)})",
            hint="the file is probably truncated or corrupt; copy or produce it again",
        ) from error


def list_objects(root_file: Any, path: str | os.PathLike[str]) -> dict[str, str]:
    """Return the class name of each top-level object of an open file, e.g. ``{"EventTree": "TTree"}``.

    Raises:
        MLTreeInputError: If the list of objects cannot be read.
    """
    try:
        return root_file.classnames(recursive=False, cycle=False)
    except Exception as error:
        raise MLTreeInputError(
            path,
            f"cannot read the list of objects ({_describe(error)})",
            hint="the file is probably truncated or corrupt; copy or produce it again",
        ) from error


def get_tree(root_file: Any, name: str, path: str | os.PathLike[str]) -> Any:
    """Return the TTree or RNTuple ``name`` from an open file, or raise MLTreeInputError naming the trees present."""
    keys = list_objects(root_file, path)
    if name not in keys:
        present = ", ".join(sorted(set(keys))) or "none"
        raise MLTreeInputError(
            path,
            f"tree {name!r} not found; objects present: {present}",
            item=name,
            hint=f"pass a file that contains {name!r}"
            + (", or pass the geometry file as cell_geo (pflow-geo: --cell-geo FILE)" if name == "CellGeo" else ""),
        )
    try:
        tree = root_file[name]
        # Read the branch list and entry count now: in a truncated file the
        # RNTuple footer or TTree metadata may be missing even though the key is not.
        tree_branch_names(tree)
        int(tree.num_entries)
    except Exception as error:
        raise MLTreeInputError(
            path,
            f"cannot read tree {name!r} ({_describe(error)})",
            item=name,
            hint="the file is probably truncated or corrupt; copy or produce it again",
        ) from error
    return tree


def is_rntuple(tree: Any) -> bool:
    """Return True for an RNTuple, False for a TTree."""
    return "RNTuple" in type(tree).__name__


def tree_branch_names(tree: Any) -> set[str]:
    """Return the top-level branch (TTree) or field (RNTuple) names of a tree."""
    # Without recursion uproot 5.7 lists an RNTuple's fields about 500 times faster.
    return set(tree.keys(recursive=False))


def read_branches(tree: Any, branches: list[str], path: str | os.PathLike[str], entry_start: int | None = None, entry_stop: int | None = None) -> Any:
    """Read branches into an awkward record array, raising MLTreeInputError when the data cannot be decoded."""
    try:
        return tree.arrays(branches, entry_start=entry_start, entry_stop=entry_stop, library="ak")
    except Exception as error:  # decompression, truncated baskets and pages
        raise MLTreeInputError(
            path,
            f"cannot read entries {entry_start}..{entry_stop} of {tree.name!r} ({_describe(error)})",
            item=tree.name,
            hint="the file is probably truncated or corrupt; copy or produce it again",
        ) from error


def _describe(error: Exception) -> str:
    """Return the error's type and message on one line (uproot messages span several)."""
    return f"{type(error).__name__}: {' '.join(str(error).split())}"
