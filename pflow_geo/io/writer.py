"""Write MLTree-format files (``EventTree`` and ``CellGeo``) with uproot.

uproot writes nested vectors only as RNTuple, so both trees are written as
RNTuples. Branch types follow MLTree (``cluster_cell_ID`` uint64,
``cell_geo_sampling`` uint16, floats as float32, integers as int32, with
``eventNumber`` int64). The file appears under its final name only once it is
complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import awkward as ak
import numpy as np
import uproot

from . import schema

__all__ = ["write_mltree", "MLTREE_DTYPES"]

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
    dtypes = {**MLTREE_DTYPES, **(dtypes or {})}
    path = Path(path)
    temporary = path.with_name(path.name + ".part")
    try:
        with uproot.recreate(temporary) as file:
            if events is not None:
                file.mkrntuple(schema.EVENT_TREE, {name: _cast(name, values, dtypes) for name, values in events.items()})
            if cell_geo is not None:
                single_entry = {name: _cast(name, ak.Array([np.asarray(values)]), dtypes) for name, values in cell_geo.items()}
                file.mkrntuple(schema.CELL_GEO_TREE, single_entry)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path
