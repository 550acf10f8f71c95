"""Write MLTree-format files (``EventTree`` and ``CellGeo``) with uproot.

uproot writes nested vectors only as RNTuple, so both trees are written as
RNTuples. Branch types follow MLTree (``cluster_cell_ID`` uint64,
``cell_geo_sampling`` uint16, floats as float32, integers as int32, with
``eventNumber`` int64). The file appears under its final name only once it is
complete.

:func:`write_mltree` writes everything at once; :class:`MLTreeWriter` appends
events chunk by chunk, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import awkward as ak
import numpy as np
import uproot

from . import schema

__all__ = ["write_mltree", "MLTreeWriter", "MLTREE_DTYPES"]

# Leaf types of MLTree branches; branches not listed keep the dtype given.
MLTREE_DTYPES: dict[str, np.dtype] = {
    "eventNumber": np.dtype(np.int64),
    "runNumber": np.dtype(np.int32),
    "mcEventNumber": np.dtype(np.int32),
    "mcChannelNumber": np.dtype(np.int32),
    "mcEventWeight": np.dtype(np.float32),
    schema.NUM_TRACKS: np.dtype(np.int32),
    schema.NUM_TRUTH: np.dtype(np.int32),
    "nCluster": np.dtype(np.int32),
    schema.TRACK_TRUTH_INDEX: np.dtype(np.int32),
    "trackNumberDOF": np.dtype(np.int32),
    schema.CELL_ID: np.dtype(np.uint64),
    schema.CELL_TRUTH_INDEX: np.dtype(np.int32),
    schema.CLUSTER_NUM_CELLS: np.dtype(np.int32),
    schema.TRUTH_PDG_ID: np.dtype(np.int32),
    "truthPartStatus": np.dtype(np.int32),
    "truthPartBarcode": np.dtype(np.int32),
    schema.GEO_ID: np.dtype(np.uint64),
    schema.GEO_SAMPLING: np.dtype(np.uint16),
    **{name: np.dtype(np.int32) for name in schema.GEO_NEIGHBOURS},
}


def _leaf_dtype(array: ak.Array) -> np.dtype:
    layout = array.layout
    while not isinstance(layout, ak.contents.NumpyArray):
        layout = layout.content
    return layout.dtype


def _cast(name: str, values: Any, dtypes: Mapping[str, Any]) -> ak.Array:
    """Convert a column to its leaf type: ``dtypes``, else float32 for floats."""
    array = ak.Array(values)
    dtype = dtypes.get(name)
    if dtype is None and _leaf_dtype(array).kind == "f":
        dtype = np.dtype(np.float32)
    return array if dtype is None else ak.values_astype(array, dtype)


class MLTreeWriter:
    """Write an MLTree file incrementally: the ``CellGeo`` once, then events chunk by chunk.

    The file is written to ``<path>.part`` and renamed to ``path`` by
    :meth:`close`; on an error inside a ``with`` block, or after
    :meth:`abort`, the partial file is removed.

    Args:
        path: Output file.
        dtypes: Leaf types that override ``MLTREE_DTYPES``.

    Example:
        >>> with MLTreeWriter("out.root") as writer:  # doctest: +SKIP
        ...     writer.write_cell_geo(cell_geo)
        ...     for chunk in chunks:
        ...         writer.extend(chunk)
    """

    def __init__(self, path: str | os.PathLike[str], *, dtypes: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.temporary = self.path.with_name(self.path.name + ".part")
        self._dtypes = {**MLTREE_DTYPES, **(dtypes or {})}
        self._file = uproot.recreate(self.temporary)
        self._events = None
        self._events_fields: list[str] = []
        self.num_events = 0

    def write_cell_geo(self, cell_geo: Mapping[str, Any]) -> None:
        """Write the one-entry ``CellGeo`` tree from 1-D arrays over all cells."""
        # ak.unflatten wraps the vector without iterating over it in Python.
        single_entry = {}
        for name, values in cell_geo.items():
            values = np.asarray(values)
            single_entry[name] = _cast(name, ak.unflatten(values, [len(values)]), self._dtypes)
        self._file.mkrntuple(schema.CELL_GEO_TREE, single_entry)

    def extend(self, events: Mapping[str, Any]) -> None:
        """Append events (branch name to array with one entry per event); the first call fixes the branches."""
        columns = {name: _cast(name, values, self._dtypes) for name, values in events.items()}
        if self._events is None:
            self._events = self._file.mkrntuple(schema.EVENT_TREE, columns)
        else:
            missing = sorted(set(self._events_fields) - set(columns))
            extra = sorted(set(columns) - set(self._events_fields))
            if missing or extra:
                raise ValueError(f"branches differ from the first chunk written to {self.temporary}: missing {missing}, unexpected {extra}")
            self._events.extend(columns)
        self._events_fields = list(columns)
        self.num_events += len(next(iter(columns.values()))) if columns else 0

    def close(self) -> Path:
        """Finish the file and move it to its final name; returns that path."""
        self._file.close()
        os.replace(self.temporary, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the partial file."""
        try:
            self._file.close()
        finally:
            self.temporary.unlink(missing_ok=True)

    def __enter__(self) -> MLTreeWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_mltree(
    path: str | os.PathLike[str],
    events: Mapping[str, Any] | None,
    cell_geo: Mapping[str, Any] | None,
    *,
    dtypes: Mapping[str, Any] | None = None,
) -> Path:
    """Write an MLTree file with an ``EventTree`` and a one-entry ``CellGeo``.

    Args:
        path: Output file. It is written to ``<path>.part`` and renamed when complete.
        events: Branch name to array with one entry per event (numpy, awkward or
            nested lists); None leaves the tree out.
        cell_geo: Branch name to a 1-D array over all cells; written as the
            single entry of ``CellGeo``. None leaves the tree out.
        dtypes: Leaf types that override ``MLTREE_DTYPES``, e.g. to write the
            older unsigned ``trackTruthParticleIndex``.

    Returns:
        The path of the finished file.
    """
    with MLTreeWriter(path, dtypes=dtypes) as writer:
        if events is not None:
            writer.extend(events)
        if cell_geo is not None:
            writer.write_cell_geo(cell_geo)
    return writer.path
