"""Point-cloud builder on the hand-built events of tests/datasets/fixtures.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pflow_geo.datasets import CloudConfig, build_clouds
from pflow_geo.io.reader import MLTreeReader

from .fixtures import CELL_ENERGY, CELL_R_MM, CELL_TRUTH, CELLS, NOISE_MEV, write_two_event_file

ALL_FEATURES = ("layer", "delta_eta", "delta_phi", "significance")
EMB1_R = 1532.18
EMB2_R = 1723.89
EMB3_R = 1923.02


def barrel_xyz(eta: float, phi: float, r: float) -> np.ndarray:
    return np.array([r * math.cos(phi), r * math.sin(phi), r * math.sinh(eta)])


def cell_xyz(name: str) -> np.ndarray:
    _, _, eta, phi = CELLS[name]
    return barrel_xyz(eta, phi, CELL_R_MM)


def expected_cloud(focus: dict, cells: list[str], others: list[tuple[float, tuple, int]], focus_truth: int, charged: set[int]) -> dict:
    """Expected per-point values: focus points, then cells, then other-track points.

    ``focus``: {"pt", "ref": (eta, phi), "points": [(layer id, eta, phi, r)]};
    ``others``: [(pt, (eta, phi, r), layer id)].
    """
    ref_eta, ref_phi = focus["ref"]
    focus_points = [barrel_xyz(eta, phi, r) for _, eta, phi, r in focus["points"]]
    rows = []
    for layer, eta, phi, r in focus["points"]:
        rows.append(dict(pos=barrel_xyz(eta, phi, r), category=0, energy=math.log1p(focus["pt"]), layer=layer, eta=eta, phi=phi,
                         significance=0.0, y=0.0, weight=0.0, fractions=(0.0, 0.0, 0.0), cell_id=-1))
    for name in cells:
        cell_id, sampling, eta, phi = CELLS[name]
        truth = CELL_TRUTH[name]
        total = sum(e for _, e in truth)
        focal = sum(e for i, e in truth if i == focus_truth)
        other_charged = sum(e for i, e in truth if i != focus_truth and i in charged)
        neutral = total - focal - other_charged
        fractions = (focal / total, other_charged / total, neutral / total) if total > 0 else (0.0, 0.0, 0.0)
        rows.append(dict(pos=cell_xyz(name), category=1, energy=math.log1p(CELL_ENERGY[name] / 0.01), layer=sampling, eta=eta, phi=phi,
                         significance=CELL_ENERGY[name] / (NOISE_MEV * 1e-3), y=float(fractions[0] > 0.5), weight=CELL_ENERGY[name],
                         fractions=fractions, cell_id=cell_id))
    for pt, (eta, phi, r), layer in others:
        rows.append(dict(pos=barrel_xyz(eta, phi, r), category=2, energy=math.log1p(pt), layer=layer, eta=eta, phi=phi,
                         significance=0.0, y=0.0, weight=0.0, fractions=(0.0, 0.0, 0.0), cell_id=-1))
    for row in rows:
        row["distance"] = min(float(np.linalg.norm(row["pos"] - p)) for p in focus_points)
        row["delta_eta"] = row["eta"] - ref_eta
        row["delta_phi"] = row["phi"] - ref_phi
        row["delta_r"] = math.hypot(row["delta_eta"], row["delta_phi"])
    return rows


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    path = write_two_event_file(tmp_path_factory.mktemp("builder") / "two.root")
    with MLTreeReader(path, check_units=False) as reader:
        chunk = reader.read(0, reader.num_events)
    return build_clouds(chunk, CloudConfig(delta_r=0.2, features=ALL_FEATURES, min_cells=1))


def expected_clouds() -> list[list[dict]]:
    charged_event0 = {0, 2}
    cloud0 = expected_cloud(
        {"pt": 10.0, "ref": (0.5, 0.0), "points": [(1, 0.5, 0.0, EMB1_R), (2, 0.5, 0.0, EMB2_R)]},
        ["A", "B", "F", "C", "E"],
        [(4.0, (0.6, 0.1, EMB2_R), 2), (3.0, (0.5, 0.05, EMB2_R), 2)],
        focus_truth=0,
        charged=charged_event0,
    )
    cloud1 = expected_cloud(
        {"pt": 4.0, "ref": (0.6, 0.1), "points": [(2, 0.6, 0.1, EMB2_R)]},
        ["A", "B", "F", "E"],
        [(10.0, (0.5, 0.0, EMB1_R), 1), (10.0, (0.5, 0.0, EMB2_R), 2), (3.0, (0.5, 0.05, EMB2_R), 2)],
        focus_truth=2,
        charged=charged_event0,
    )
    cloud2 = expected_cloud(
        {"pt": 5.0, "ref": (-0.3, 2.0), "points": [(2, -0.3, 2.0, EMB2_R)]},
        ["G"],
        [],
        focus_truth=0,
        charged={0},
    )
    return [cloud0, cloud1, cloud2]


def test_builder_cloud_count_and_offsets(block):
    sizes = [len(c) for c in expected_clouds()]
    assert block.num_clouds == 3
    assert block.ptr.tolist() == [0, sizes[0], sizes[0] + sizes[1], sum(sizes)]


def test_builder_skip_reasons(block):
    assert block.tracks_seen == 6
    assert block.skipped["no_truth_match"] == 1
    assert block.skipped["no_intersection"] == 1
    assert block.skipped["too_few_cells"] == 1
    # Cell F has no truth contribution and lies in clouds 0 and 1.
    assert block.cells_without_truth == 2


def test_builder_every_point_matches_hand_values(block):
    names = ("x", "y", "z", "category", "energy", "distance") + ALL_FEATURES
    for cloud, rows in enumerate(expected_clouds()):
        start, stop = block.ptr[cloud], block.ptr[cloud + 1]
        x = block.points["x"][start:stop]
        for i, row in enumerate(rows):
            expected = {
                "x": row["pos"][0], "y": row["pos"][1], "z": row["pos"][2], "category": row["category"], "energy": row["energy"],
                "distance": row["distance"], "layer": row["layer"], "delta_eta": row["delta_eta"], "delta_phi": row["delta_phi"],
                "significance": row["significance"],
            }
            for column, name in enumerate(names):
                assert x[i, column] == pytest.approx(expected[name], rel=1e-5, abs=2e-3), (cloud, i, name)
            point = start + i
            assert block.points["pos"][point] == pytest.approx(row["pos"], rel=1e-5)
            assert block.points["category"][point] == row["category"]
            assert block.points["y"][point] == row["y"], (cloud, i)
            assert block.points["weight"][point] == pytest.approx(row["weight"])
            assert block.points["frac_focus"][point] == pytest.approx(row["fractions"][0], abs=1e-6)
            assert block.points["frac_charged"][point] == pytest.approx(row["fractions"][1], abs=1e-6)
            assert block.points["frac_neutral"][point] == pytest.approx(row["fractions"][2], abs=1e-6)
            assert block.points["cell_id"][point] == row["cell_id"]
            assert block.points["layer"][point] == row["layer"]
            assert block.points["delta_r"][point] == pytest.approx(row["delta_r"], abs=1e-6)


def test_builder_labels_of_shared_cells(block):
    # Cell E: 900 MeV from particle 2 and 100 MeV from particle 0.
    cloud0 = slice(block.ptr[0], block.ptr[1])
    cloud1 = slice(block.ptr[1], block.ptr[2])
    e0 = np.flatnonzero(block.points["cell_id"][cloud0] == 15)[0]
    e1 = np.flatnonzero(block.points["cell_id"][cloud1] == 15)[0]
    assert block.points["y"][cloud0][e0] == 0.0
    assert block.points["frac_charged"][cloud0][e0] == pytest.approx(0.9)
    assert block.points["y"][cloud1][e1] == 1.0
    assert block.points["frac_focus"][cloud1][e1] == pytest.approx(0.9)


def test_builder_cloud_columns(block):
    assert block.clouds["event_number"].tolist() == [100, 100, 101]
    assert block.clouds["entry"].tolist() == [0, 0, 1]
    assert block.clouds["track_index"].tolist() == [0, 1, 0]
    assert block.clouds["track_pt"].tolist() == pytest.approx([10.0, 4.0, 5.0])
    assert block.clouds["track_eta"].tolist() == pytest.approx([0.5, 0.6, -0.3])
    assert block.clouds["track_phi"].tolist() == pytest.approx([0.0, 0.1, 2.0])
    # Focus truth energy in the cone, GeV: cloud 0 has A 3000 + B 400 + C 200 + E 100 MeV.
    assert block.clouds["focus_truth_energy"].tolist() == pytest.approx([3.7, 0.9, 1.0], rel=1e-6)


def test_builder_cell_at_half_is_label_zero(block):
    # Cell C has exactly half of its truth energy from the focus particle of cloud 0.
    cloud0 = slice(block.ptr[0], block.ptr[1])
    c = np.flatnonzero(block.points["cell_id"][cloud0] == 13)[0]
    assert block.points["frac_focus"][cloud0][c] == pytest.approx(0.5)
    assert block.points["y"][cloud0][c] == 0.0


def test_builder_min_cells_zero_keeps_empty_cloud(tmp_path):
    path = write_two_event_file(tmp_path / "two.root")
    with MLTreeReader(path, check_units=False) as reader:
        block = build_clouds(reader.read(0, 2), CloudConfig(min_cells=0))
    assert block.num_clouds == 4
    assert block.skipped["too_few_cells"] == 0
    last = slice(block.ptr[3], block.ptr[4])
    assert block.points["category"][last].tolist() == [0]


def test_builder_rejects_unknown_feature():
    with pytest.raises(ValueError, match="unknown feature"):
        CloudConfig(features=("pT",))
