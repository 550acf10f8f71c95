"""Per-cell prediction table: one row per calorimeter cell of every evaluated cloud.

The table is the single input of the physics summaries, the plots and the
report, so they can be remade from the parquet file without the model. Its
columns, in order:

* ``event_number``, ``entry``, ``track_index`` (int64): the focus track.
  Together they identify the track; a track whose cloud has no cell has no row.
* ``cell_id``, ``cluster``, ``layer`` (int64): the cell, the index of its
  topo-cluster within the event and its ATLAS sampling id.
* ``energy`` (float32, GeV): the cell energy at EM scale.
* ``label`` (int8): 1 when more than half of the cell's truth energy comes
  from the focus particle.
* ``frac_focus``, ``frac_charged``, ``frac_neutral`` (float32): shares of the
  cell's truth energy from the focus particle, other charged particles and
  neutral particles.
* ``delta_r`` (float32): angular distance of the cell to the focus track's
  reference direction.
* ``eta``, ``phi`` (float32, radians): direction of the cell centre.
* ``track_layer_eta``, ``track_layer_phi`` (float32, radians): the focus
  track's intersection with the cell's layer, NaN when the cloud has none.
* ``track_pt`` (GeV), ``track_eta``, ``track_phi`` (radians),
  ``focus_truth_energy`` (GeV) (float32): per-track values repeated on each row.
* ``prob_<method>`` (float32): the probability, from each method, that the
  cell belongs to the focus track.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from torch_geometric.data import Data

from .cells import CloudCells, extract_cells

__all__ = [
    "PROBABILITY_PREFIX",
    "TABLE_SCHEMA",
    "build_table",
    "write_predictions",
    "read_predictions",
    "method_names",
    "probability_column",
    "column",
    "predicted_mask",
    "DEFAULT_THRESHOLD",
]

logger = logging.getLogger(__name__)

PROBABILITY_PREFIX = "prob_"

# A cell counts as predicted for the focus track when its probability is
# above this value (strictly, as in pflow_geo.metrics).
DEFAULT_THRESHOLD = 0.5

# The columns before the ``prob_<method>`` ones, with their types.
TABLE_SCHEMA = pa.schema(
    [
        ("event_number", pa.int64()),
        ("entry", pa.int64()),
        ("track_index", pa.int64()),
        ("cell_id", pa.int64()),
        ("cluster", pa.int64()),
        ("layer", pa.int64()),
        ("energy", pa.float32()),
        ("label", pa.int8()),
        ("frac_focus", pa.float32()),
        ("frac_charged", pa.float32()),
        ("frac_neutral", pa.float32()),
        ("delta_r", pa.float32()),
        ("eta", pa.float32()),
        ("phi", pa.float32()),
        ("track_layer_eta", pa.float32()),
        ("track_layer_phi", pa.float32()),
        ("track_pt", pa.float32()),
        ("track_eta", pa.float32()),
        ("track_phi", pa.float32()),
        ("focus_truth_energy", pa.float32()),
    ]
)

_PER_TRACK_COLUMNS = ("event_number", "entry", "track_index", "track_pt", "track_eta", "track_phi", "focus_truth_energy")
_METHOD_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def build_table(clouds: Iterable[Data | CloudCells], probabilities: Mapping[str, Sequence[Any]]) -> pa.Table:
    """Build the per-cell prediction table of a set of clouds.

    Args:
        clouds: The evaluated clouds, each a single ``Data`` with the fields of
            :mod:`pflow_geo.datasets.fields` (padded clouds are fine) or its
            :class:`~pflow_geo.evaluation.cells.CloudCells`.
        probabilities: For each method name (letters, digits and ``_``), one
            entry per cloud, in the order of ``clouds``. An entry is a tensor
            or array with one probability per point of the cloud or one per
            cell in point order. Values of non-cell points are ignored.

    Returns:
        The table described in this module's docstring, with one
        ``prob_<method>`` column per method, in the order of ``probabilities``.

    Raises:
        ValueError: If a method name is invalid, a method has a different
            number of entries than there are clouds, an entry has the wrong
            length, or a probability is outside [0, 1] or not finite.
    """
    for method in probabilities:
        if not _METHOD_NAME.match(method):
            raise ValueError(f"invalid method name {method!r}: use letters, digits and '_' only")

    columns: dict[str, list[np.ndarray]] = {name: [] for name in TABLE_SCHEMA.names}
    method_columns: dict[str, list[np.ndarray]] = {method: [] for method in probabilities}
    num_clouds = 0
    for cloud in clouds:
        cells = cloud if isinstance(cloud, CloudCells) else extract_cells(cloud)
        _append_cells(columns, cells)
        for method, per_cloud in probabilities.items():
            if num_clouds >= len(per_cloud):
                raise ValueError(f"method {method!r} has {len(per_cloud)} probability entries but there are more clouds")
            method_columns[method].append(_cell_probabilities(per_cloud[num_clouds], cells, method, num_clouds))
        num_clouds += 1

    for method, per_cloud in probabilities.items():
        if len(per_cloud) != num_clouds:
            raise ValueError(f"method {method!r} has {len(per_cloud)} probability entries for {num_clouds} clouds")

    arrays = [pa.array(_concatenate(columns[field.name], field.type), type=field.type) for field in TABLE_SCHEMA]
    fields = list(TABLE_SCHEMA)
    for method, chunks in method_columns.items():
        arrays.append(pa.array(_concatenate(chunks, pa.float32()), type=pa.float32()))
        fields.append(pa.field(probability_column(method), pa.float32()))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    logger.info("built a prediction table of %d cells from %d clouds for methods %s", table.num_rows, num_clouds, list(probabilities))
    return table


def write_predictions(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write a prediction table to a parquet file, creating its folder if needed."""
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    pq.write_table(table, path)


def read_predictions(path: str | os.PathLike[str]) -> pa.Table:
    """Read a prediction table written by :func:`write_predictions`.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If a column of :data:`TABLE_SCHEMA` is missing.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"prediction table not found: {path}")
    table = pq.read_table(path)
    missing = [name for name in TABLE_SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(f"{path} is not a prediction table: columns {missing} are missing")
    return table


def method_names(table: pa.Table) -> list[str]:
    """Return the methods with a ``prob_<method>`` column, in column order."""
    return [name[len(PROBABILITY_PREFIX) :] for name in table.column_names if name.startswith(PROBABILITY_PREFIX)]


def probability_column(method: str) -> str:
    """Return the name of a method's probability column."""
    return PROBABILITY_PREFIX + method


def column(table: pa.Table, name: str) -> np.ndarray:
    """Return one column of the table as a numpy array.

    Raises:
        KeyError: If the column does not exist.
    """
    if name not in table.column_names:
        raise KeyError(f"column {name!r} not in the prediction table; columns: {table.column_names}")
    return table.column(name).to_numpy()


def predicted_mask(table: pa.Table, method: str, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Return, per row, whether the method assigns the cell to the focus track (probability > threshold).

    Raises:
        KeyError: If the table has no column for the method.
    """
    return column(table, probability_column(method)) > threshold


def _append_cells(columns: dict[str, list[np.ndarray]], cells: CloudCells) -> None:
    for name in _PER_TRACK_COLUMNS:
        columns[name].append(np.full(cells.num_cells, getattr(cells, name)))
    for name in TABLE_SCHEMA.names:
        if name not in _PER_TRACK_COLUMNS:
            columns[name].append(getattr(cells, name))


def _cell_probabilities(values: Any, cells: CloudCells, method: str, cloud_number: int) -> np.ndarray:
    """Pick the cells' probabilities out of a per-point or per-cell array and check them."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.shape[0] == cells.num_points:
        values = values[cells.point_index]
    elif values.shape[0] != cells.num_cells:
        raise ValueError(
            f"method {method!r}, cloud {cloud_number}: got {values.shape[0]} probabilities, expected "
            f"{cells.num_points} (one per point) or {cells.num_cells} (one per cell)"
        )
    bad = ~np.isfinite(values) | (values < 0.0) | (values > 1.0)
    if bad.any():
        raise ValueError(
            f"method {method!r}, cloud {cloud_number}: probability {float(values[bad][0])} is not in [0, 1]; "
            "pass probabilities, not logits"
        )
    return values


def _concatenate(chunks: list[np.ndarray], arrow_type: pa.DataType) -> np.ndarray:
    dtype = arrow_type.to_pandas_dtype()
    if not chunks:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(chunks).astype(dtype)
