"""Hand-built clouds that follow the field contract of pflow_geo.datasets.fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch
from torch_geometric.data import Data

from pflow_geo.datasets.fields import Category
from pflow_geo.evaluation.predictions import TABLE_SCHEMA, probability_column
from pflow_geo.geometry import Sampling, delta_r, layer_intersections


@dataclass
class Cell:
    """One calorimeter cell, placed on its layer's reference surface at (eta, phi)."""

    eta: float
    phi: float
    energy: float
    layer: int = Sampling.EMB2
    frac_focus: float = 0.0
    frac_charged: float = 0.0
    cell_id: int = -1
    cluster: int = 0

    @property
    def frac_neutral(self) -> float:
        return 1.0 - self.frac_focus - self.frac_charged


def make_cloud(
    cells: Sequence[Cell],
    *,
    track_points: Sequence[tuple[int, float, float]] = (),
    other_points: Sequence[tuple[int, float, float]] = (),
    num_padding: int = 0,
    event_number: int = 1,
    entry: int = 0,
    track_index: int = 0,
    track_pt: float = 10.0,
    track_eta: float = 0.0,
    track_phi: float = 0.0,
    focus_truth_energy: float = 0.0,
) -> Data:
    """Build a cloud: focus-track points, then cells, other-track points and padding.

    ``track_points`` and ``other_points`` are ``(layer, eta, phi)`` triples.
    Cells without an id get 1000 + their index; ``delta_r`` is measured from
    ``(track_eta, track_phi)``.
    """
    rows = []
    for layer, eta, phi in track_points:
        rows.append((Category.FOCUS_TRACK, layer, eta, phi, 0.0, 0.0, 0.0, 0.0, -1, -1))
    for index, cell in enumerate(cells):
        cell_id = cell.cell_id if cell.cell_id >= 0 else 1000 + index
        rows.append(
            (Category.CELL, cell.layer, cell.eta, cell.phi, cell.energy, cell.frac_focus, cell.frac_charged,
             cell.frac_neutral, cell_id, cell.cluster)
        )
    for layer, eta, phi in other_points:
        rows.append((Category.OTHER_TRACK, layer, eta, phi, 0.0, 0.0, 0.0, 0.0, -1, -1))

    category = np.array([row[0] for row in rows] + [Category.PADDING] * num_padding, dtype=np.int64)
    layer = np.array([row[1] for row in rows] + [-1] * num_padding, dtype=np.int64)
    eta = np.array([row[2] for row in rows] + [0.0] * num_padding)
    phi = np.array([row[3] for row in rows] + [0.0] * num_padding)
    pos = np.zeros((len(category), 3))
    for point in range(len(rows)):
        pos[point] = layer_intersections(eta[point], phi[point], int(layer[point]))

    def column(index: int, fill: float) -> np.ndarray:
        return np.array([row[index] for row in rows] + [fill] * num_padding)

    is_cell = category == Category.CELL
    frac_focus = column(5, 0.0)
    return Data(
        pos=torch.tensor(pos, dtype=torch.float32),
        category=torch.tensor(category),
        y=torch.tensor((frac_focus > 0.5) & is_cell, dtype=torch.float32),
        weight=torch.tensor(column(4, 0.0), dtype=torch.float32),
        frac_focus=torch.tensor(frac_focus, dtype=torch.float32),
        frac_charged=torch.tensor(column(6, 0.0), dtype=torch.float32),
        frac_neutral=torch.tensor(column(7, 0.0), dtype=torch.float32),
        cell_id=torch.tensor(column(8, -1), dtype=torch.int64),
        cluster=torch.tensor(column(9, -1), dtype=torch.int64),
        layer=torch.tensor(layer),
        delta_r=torch.tensor(np.where(category >= 0, delta_r(eta, phi, track_eta, track_phi), 0.0), dtype=torch.float32),
        event_number=torch.tensor([event_number]),
        entry=torch.tensor([entry]),
        track_index=torch.tensor([track_index]),
        track_pt=torch.tensor([track_pt], dtype=torch.float32),
        track_eta=torch.tensor([track_eta], dtype=torch.float32),
        track_phi=torch.tensor([track_phi], dtype=torch.float32),
        focus_truth_energy=torch.tensor([focus_truth_energy], dtype=torch.float32),
    )


def make_table(columns: dict[str, list], probabilities: dict[str, list[float]]) -> pa.Table:
    """Build a prediction table from per-row lists; columns not given get a neutral default.

    Defaults: ``cell_id`` is the row number, ``layer`` EMB2, the track
    intersection NaN and every other column 0.
    """
    num_rows = len(next(iter(probabilities.values())))
    defaults = {
        "cell_id": list(range(num_rows)),
        "layer": [int(Sampling.EMB2)] * num_rows,
        "track_layer_eta": [float("nan")] * num_rows,
        "track_layer_phi": [float("nan")] * num_rows,
    }
    arrays = []
    for field in TABLE_SCHEMA:
        values = columns.get(field.name, defaults.get(field.name, [0] * num_rows))
        arrays.append(pa.array(values, type=field.type))
    fields = list(TABLE_SCHEMA)
    for method, values in probabilities.items():
        arrays.append(pa.array(values, type=pa.float32()))
        fields.append(pa.field(probability_column(method), pa.float32()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
