"""Topo-clustering rules (4-2-0), splitting and the MLTree cell cuts on hand-built grids."""

import numpy as np
import pytest

from pflow_geo.simulation.clustering import topo_cluster
from pflow_geo.simulation.config import SimulationConfig
from pflow_geo.simulation.event import _cluster_branches
from pflow_geo.simulation.readout import CellHits
from pflow_geo.simulation.splitter import split_cluster

from .grids import line_detector, neighbour_table, square_grid


def cluster(significance_by_cell: dict[int, float], neighbours, num_cells: int, **thresholds) -> list[list[int]]:
    """Run topo_cluster with unit noise; cells not listed have significance 0.5."""
    values = np.full(num_cells, 0.5)
    for cell, value in significance_by_cell.items():
        values[cell] = value
    growth = np.flatnonzero(np.abs(values) > thresholds.get("growth_threshold", 2.0))
    clusters = topo_cluster(neighbours, num_cells, growth, lambda rows: np.abs(values[rows]), **thresholds)
    return [sorted(c.tolist()) for c in clusters]


def chain(num_cells: int):
    return neighbour_table(num_cells, [(i, i + 1) for i in range(num_cells - 1)])


def test_seed_threshold():
    assert cluster({3: 3.9}, chain(8), 8) == []
    assert cluster({3: 4.1}, chain(8), 8) == [[2, 3, 4]]


def test_growth_and_perimeter():
    # Seed at 2 grows through 3 and 4 (above 2 sigma); 5 is a perimeter cell
    # (1.5 sigma) and does not grow, so 6 stays out.
    assert cluster({2: 5.0, 3: 2.5, 4: 2.1, 5: 1.5}, chain(8), 8) == [[1, 2, 3, 4, 5]]


def test_growth_threshold_is_strict():
    assert cluster({2: 5.0, 3: 2.0}, chain(8), 8) == [[1, 2, 3]]


def test_seeds_merge_through_growth_cells():
    assert cluster({1: 6.0, 2: 2.5, 3: 2.5, 4: 2.5, 5: 4.5}, chain(8), 8) == [[0, 1, 2, 3, 4, 5, 6]]


def test_seeds_merge_when_reaching_same_cell():
    # Both seeds reach growth cell 2 in the first round.
    assert cluster({1: 6.0, 2: 2.5, 3: 4.5}, chain(8), 8) == [[0, 1, 2, 3, 4]]


def test_seeds_separated_by_perimeter_cell_stay_apart():
    # Cell 3 is below the growth threshold: it joins the cluster of the
    # stronger seed (reached first) and does not merge the two.
    clusters = cluster({1: 6.0, 2: 3.0, 3: 1.0, 4: 3.0, 5: 4.5}, chain(8), 8)
    assert clusters == [[0, 1, 2, 3], [4, 5, 6]]


def test_perimeter_goes_to_first_round():
    # Cell 4 is one step from seed 5 and two steps from seed 1, so seed 5's cluster reaches it first.
    clusters = cluster({1: 9.0, 2: 3.0, 4: 1.0, 5: 4.5}, chain(8), 8)
    assert clusters == [[0, 1, 2, 3], [4, 5, 6]]


def test_negative_cells_use_absolute_energy():
    assert cluster({2: -5.0, 3: -2.5}, chain(8), 8) == [[1, 2, 3, 4]]


def test_perimeter_threshold_rejects_small_cells():
    clusters = cluster({2: 5.0, 3: 0.5, 1: 1.2}, chain(8), 8, perimeter_threshold=1.0)
    assert clusters == [[1, 2]]


def test_diagonal_neighbours_on_grid():
    # 5x5 grid: a seed at the centre (2,2) with a growth cell on its corner
    # (3,3); the cluster is the union of their 3x3 blocks.
    grid = square_grid(5)
    clusters = cluster({12: 5.0, 18: 2.5}, grid, 25)
    block = lambda row, col: {r * 5 + c for r in range(row - 1, row + 2) for c in range(col - 1, col + 2)}  # noqa: E731
    assert clusters == [sorted(block(2, 2) | block(3, 3))]


def two_peaks():
    detector = line_detector(9)
    energy = np.array([0.05, 0.8, 3.0, 0.8, 0.3, 0.7, 2.0, 0.7, 0.05])
    # Each cell neighbours the cells up to two steps away, so interior cells have 4 neighbours.
    neighbours = neighbour_table(9, [(i, j) for i in range(9) for j in range(i + 1, min(i + 3, 9))])
    return detector, energy, neighbours


def test_splitter_shares_border_cell():
    detector, energy, neighbours = two_peaks()
    parts = split_cluster(np.arange(9), energy, detector, neighbours)
    assert len(parts) == 2
    (rows_1, weights_1), (rows_2, weights_2) = parts
    # Maxima at 2 (3 GeV) and 6 (2 GeV); cell 4 is two steps from both, so it is shared.
    assert 2 in rows_1 and 6 in rows_2
    assert 4 in rows_1 and 4 in rows_2
    shared_1 = weights_1[list(rows_1).index(4)]
    shared_2 = weights_2[list(rows_2).index(4)]
    assert shared_1 + shared_2 == pytest.approx(1.0)
    assert shared_1 > shared_2  # the more energetic cluster gets the larger share
    total = np.zeros(9)
    for rows, weights in parts:
        np.add.at(total, rows, weights)
    np.testing.assert_allclose(total, 1.0)


def test_splitter_keeps_single_maximum():
    detector, energy, neighbours = two_peaks()
    energy = energy.copy()
    energy[6] = 0.4  # below the 500 MeV maximum cut
    parts = split_cluster(np.arange(9), energy, detector, neighbours)
    assert len(parts) == 1
    np.testing.assert_array_equal(parts[0][0], np.arange(9))
    np.testing.assert_array_equal(parts[0][1], 1.0)


def test_splitter_ignores_secondary_maximum_behind_primary():
    detector, energy, neighbours = two_peaks()
    detector.sampling = np.where(np.arange(9) > 4, 1, 2)  # right peak in EMB1, secondary
    detector.eta[6] = detector.eta[2]  # and in front of the primary maximum
    assert len(split_cluster(np.arange(9), energy, detector, neighbours)) == 1


def test_cell_cut_and_truth_padding():
    detector = line_detector(4)
    rows = np.arange(4)
    energy = np.array([0.1, 0.004, -0.02, 0.006])
    hits = CellHits(
        rows=rows, signal=energy, truth=np.abs(energy),
        contribution_row=np.array([0, 0, 0, 0, 1, 3]), contribution_particle=np.array([2, 1, 3, 4, 1, 2]),
        contribution_energy=np.array([0.09, 0.02, 0.01, 0.001, 0.003, 0.006]), uncovered=np.zeros(5),
    )
    config = SimulationConfig(truth_contributors=3)
    branches = _cluster_branches(detector, hits, [(rows, energy)], config)
    np.testing.assert_array_equal(branches["cell_id"], detector.id[[0, 3]])
    np.testing.assert_allclose(branches["cell_energy"], [0.1, 0.006])
    assert branches["num_cells"].tolist() == [4]
    assert branches["num_kept"].tolist() == [2]
    # Lists for the two kept cells (3 and 1 contributors), then two empty ones.
    assert branches["truth_count"].tolist() == [3, 1, 0, 0]
    assert branches["truth_index"].tolist() == [2, 1, 3, 2]
    np.testing.assert_allclose(branches["truth_energy"], [0.09, 0.02, 0.01, 0.006])
    assert branches["energy"][0] == pytest.approx(energy.sum())

    unpadded = _cluster_branches(detector, hits, [(rows, energy)], SimulationConfig(pad_truth_lists=False))
    assert unpadded["truth_count"].tolist() == [3, 1]
