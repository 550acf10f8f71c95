"""Cell grid, identifiers, lookup and neighbours of the simulated detector."""

import numpy as np
import pytest

from pflow_geo.geometry import Sampling


@pytest.mark.parametrize(
    ("sampling", "count"),
    [(Sampling.PreSamplerB, 7808), (Sampling.EMB2, 29184), (Sampling.EMB3, 13824), (Sampling.EME2, 22528 + 896), (Sampling.EME3, 10240)],
)
def test_cell_counts(detector, sampling, count):
    # ATLAS counts from LArEM_ID.h; EME2 adds the inner wheel (2.5 < |eta| < 3.2).
    assert np.count_nonzero(detector.sampling == sampling) == count


def test_identifiers_unique_and_32_bit(detector):
    assert len(np.unique(detector.id)) == detector.num_cells
    assert detector.id.max() < 2**32


def test_find_cells_round_trip(detector):
    rows = detector.find_cells(detector.sampling, detector.eta, detector.phi)
    np.testing.assert_array_equal(rows, np.arange(detector.num_cells))


def test_find_cells_outside_coverage(detector):
    rows = detector.find_cells(np.array([Sampling.EMB2, Sampling.TileBar0, Sampling.EME2]), np.array([1.6, 1.05, 0.5]), np.zeros(3))
    np.testing.assert_array_equal(rows, -1)


def test_cell_sizes_and_volumes(detector):
    emb2 = detector.sampling == Sampling.EMB2
    assert np.allclose(detector.dphi[emb2], 2 * np.pi / 256)
    assert np.all(detector.volume > 0)
    assert np.all((detector.r_perp > 300) & (detector.r_perp < 4000))


def test_neighbours_symmetric(detector):
    table = detector.neighbours
    source = np.repeat(np.arange(detector.num_cells), np.diff(table.indptr))
    forward = np.sort(source * detector.num_cells + table.indices)
    backward = np.sort(table.indices.astype(np.int64) * detector.num_cells + source)
    np.testing.assert_array_equal(forward, backward)


def test_emb2_neighbours(detector):
    row = detector.find_cells(np.array([Sampling.EMB2]), np.array([0.3126]), np.array([0.5]))[0]
    _, neighbours = detector.neighbours.of(np.array([row]))
    sampling = detector.sampling[neighbours]
    # 8 in-layer neighbours, the 8 EMB1 strips in front and one EMB3 cell behind.
    assert np.count_nonzero(sampling == Sampling.EMB2) == 8
    assert np.count_nonzero(sampling == Sampling.EMB1) == 8
    assert np.count_nonzero(sampling == Sampling.EMB3) == 1


def test_single_neighbour_branches(detector):
    single = detector.neighbours.single
    rows = np.arange(detector.num_cells)
    np.testing.assert_array_equal(single["cell_geo_prevInPhi"][single["cell_geo_nextInPhi"]], rows)
    has_next_eta = single["cell_geo_nextInEta"] >= 0
    assert np.all(detector.eta[single["cell_geo_nextInEta"][has_next_eta]] > detector.eta[has_next_eta])
    emb3 = np.flatnonzero((detector.sampling == Sampling.EMB3) & (np.abs(detector.eta) < 0.5))
    # An EMB3 cell sits in front of exactly one TileBar0 cell.
    assert np.all(detector.sampling[single["cell_geo_nextSuperCalo"][emb3]] == Sampling.TileBar0)


def test_cell_geo_branches(detector):
    branches = detector.cell_geo()
    assert branches["cell_geo_ID"].dtype == np.uint64
    assert branches["cell_geo_sampling"].dtype == np.uint16
    assert branches["cell_geo_prevInEta"].dtype == np.int32
    emb2 = branches["cell_geo_sampling"] == Sampling.EMB2
    np.testing.assert_allclose(branches["cell_geo_sigma"][emb2], 40.0)
    assert all(len(values) == detector.num_cells for values in branches.values())
