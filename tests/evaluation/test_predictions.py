import math

import numpy as np
import pyarrow as pa
import pytest
import torch

from pflow_geo.evaluation.cells import extract_cells
from pflow_geo.evaluation.predictions import (
    TABLE_SCHEMA,
    build_table,
    method_names,
    predicted_mask,
    read_predictions,
    write_predictions,
)
from pflow_geo.geometry import Sampling

from .builders import Cell, make_cloud

EMB2 = int(Sampling.EMB2)
TILE0 = int(Sampling.TileBar0)


def two_clouds():
    # Points: focus-track point, cells, other-track point, padding.
    first = make_cloud(
        [
            Cell(0.01, 0.02, 1.5, frac_focus=0.75, frac_charged=0.25, cell_id=7, cluster=3),
            Cell(0.05, 0.0, 2.0, layer=TILE0, frac_charged=0.5, cell_id=8, cluster=4),
        ],
        track_points=[(EMB2, 0.0, 0.01)],
        other_points=[(EMB2, 0.1, 0.1)],
        num_padding=2,
        event_number=11,
        entry=3,
        track_index=2,
        track_pt=12.5,
        track_eta=0.25,
        track_phi=-0.5,
        focus_truth_energy=4.0,
    )
    second = make_cloud([Cell(-0.02, 0.0, 0.5, frac_focus=1.0, cell_id=9)], track_points=[(EMB2, 0.0, 0.0)], event_number=12)
    return [first, second]


def test_extract_cells_per_layer_distance():
    cells = extract_cells(two_clouds()[0])
    assert cells.num_points == 6
    assert cells.point_index.tolist() == [1, 2]
    assert cells.label.tolist() == [1, 0]
    assert cells.frac_neutral == pytest.approx([0.0, 0.5])
    assert cells.track_layer_eta[0] == pytest.approx(0.0, abs=1e-6)
    assert cells.track_layer_phi[0] == pytest.approx(0.01, abs=1e-6)
    # EMB2 cell: measured from the EMB2 intersection (0, 0.01).
    assert cells.delta_r_layer[0] == pytest.approx(math.hypot(0.01, 0.01), abs=1e-5)
    # TileBar0 has no intersection: NaN there, and delta_r to the reference direction (0.25, -0.5).
    assert math.isnan(cells.track_layer_eta[1])
    assert cells.delta_r_layer[1] == pytest.approx(math.hypot(0.2, 0.5), abs=1e-5)
    assert cells.delta_r_layer[1] == cells.delta_r[1]
    assert cells.track_p == pytest.approx(12.5 * math.cosh(0.25), rel=1e-6)


def test_extract_cells_rejects_batches():
    cloud = two_clouds()[1]
    cloud.event_number = torch.tensor([1, 2])
    with pytest.raises(ValueError, match="'event_number' has 2 values"):
        extract_cells(cloud)


def test_table_columns_and_values():
    clouds = two_clouds()
    per_point = [torch.tensor([0.0, 0.9, 0.2, 0.0, 0.0, 0.0]), np.array([0.0, 0.4])]
    per_cell = [np.array([0.9, 0.2]), [0.4]]
    table = build_table(clouds, {"model": per_point, "cone": per_cell})

    assert table.column_names == TABLE_SCHEMA.names + ["prob_model", "prob_cone"]
    assert method_names(table) == ["model", "cone"]
    assert table.num_rows == 3
    rows = table.to_pydict()
    assert rows["event_number"] == [11, 11, 12]
    assert rows["entry"] == [3, 3, 0]
    assert rows["track_index"] == [2, 2, 0]
    assert rows["cell_id"] == [7, 8, 9]
    assert rows["cluster"] == [3, 4, 0]
    assert rows["layer"] == [EMB2, TILE0, EMB2]
    assert rows["label"] == [1, 0, 1]
    assert rows["energy"] == [1.5, 2.0, 0.5]
    assert rows["frac_charged"] == [0.25, 0.5, 0.0]
    assert rows["track_pt"] == [12.5, 12.5, 10.0]
    assert rows["focus_truth_energy"] == [4.0, 4.0, 0.0]
    assert rows["eta"] == pytest.approx([0.01, 0.05, -0.02], abs=1e-6)
    assert rows["track_layer_phi"][0] == pytest.approx(0.01, abs=1e-6)
    assert math.isnan(rows["track_layer_phi"][1])
    assert rows["prob_model"] == pytest.approx([0.9, 0.2, 0.4])
    assert rows["prob_cone"] == rows["prob_model"]
    assert predicted_mask(table, "model").tolist() == [True, False, False]
    assert predicted_mask(table, "model", threshold=0.2).tolist() == [True, False, True]


def test_table_round_trip(tmp_path):
    table = build_table(two_clouds(), {"model": [np.array([0.9, 0.2]), np.array([0.4])]})
    path = tmp_path / "out" / "predictions.parquet"
    write_predictions(table, path)
    read = read_predictions(path)
    assert read.schema.equals(table.schema)
    for name in table.column_names:
        # assert_array_equal treats NaN (a missing intersection) as equal to NaN.
        np.testing.assert_array_equal(read.column(name).to_numpy(), table.column(name).to_numpy(), err_msg=name)


def test_read_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        read_predictions(tmp_path / "missing.parquet")


def test_read_foreign_parquet_raises(tmp_path):
    path = tmp_path / "other.parquet"
    write_predictions(pa.table({"energy": [1.0]}), path)
    with pytest.raises(ValueError, match="'event_number'"):
        read_predictions(path)


@pytest.mark.parametrize(
    ("probabilities", "message"),
    [
        ({"model": [np.array([0.9, 0.2, 0.1]), np.array([0.4])]}, "cloud 0: got 3 probabilities, expected 6"),
        ({"model": [np.array([0.9, 0.2])]}, "1 probability entries but there are more clouds"),
        ({"model": [np.array([0.9, 0.2]), np.array([0.4]), np.array([0.4])]}, "3 probability entries for 2 clouds"),
        ({"model": [np.array([0.9, 1.5]), np.array([0.4])]}, r"probability 1\.5 is not in \[0, 1\]"),
        ({"model": [np.array([0.9, np.nan]), np.array([0.4])]}, "probability nan"),
        ({"my model": [np.array([0.9, 0.2]), np.array([0.4])]}, "invalid method name 'my model'"),
    ],
)
def test_table_rejects_bad_probabilities(probabilities, message):
    with pytest.raises(ValueError, match=message):
        build_table(two_clouds(), probabilities)
