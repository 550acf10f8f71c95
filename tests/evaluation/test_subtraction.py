import math

import numpy as np
import pytest

from pflow_geo.evaluation.subtraction import RING_THICKNESS, CellSubtraction
from pflow_geo.geometry import Sampling

from .builders import Cell, make_cloud

EMB2 = int(Sampling.EMB2)
TILE0 = int(Sampling.TileBar0)
AXIS = [(EMB2, 0.0, 0.0), (TILE0, 0.0, 0.0)]  # focus-track intersections at eta = phi = 0


def focus_cell(delta_phi, energy, layer=EMB2, **kwargs):
    """A cell at eta 0 and phi = delta_phi, all of whose truth energy is the focus particle's."""
    return Cell(0.0, delta_phi, energy, layer=layer, frac_focus=1.0, **kwargs)


def cells_of(output, cloud):
    return output[cloud.category.numpy() == 1].tolist()


@pytest.fixture
def ring_training():
    # E/p = (2 + 4 + 0.5) / 10 = 0.65; EMB2 rings are 0.0175 wide, TileBar0 rings 0.0701.
    cloud = make_cloud(
        [focus_cell(0.005, 2.0), focus_cell(0.03, 4.0, layer=TILE0), focus_cell(0.025, 0.5)],
        track_points=AXIS,
        track_pt=10.0,
    )
    return CellSubtraction(min_tracks_per_bin=1).fit([cloud])


def test_ring_order_follows_density(ring_training):
    emb2_area = math.pi * RING_THICKNESS[EMB2] ** 2
    tile_area = math.pi * RING_THICKNESS[TILE0] ** 2
    assert ring_training.ring_density[(EMB2, 0)] == pytest.approx(2.0 / emb2_area)
    assert ring_training.ring_density[(EMB2, 1)] == pytest.approx(0.5 / (3 * emb2_area))
    assert ring_training.ring_density[(TILE0, 0)] == pytest.approx(4.0 / tile_area)
    assert ring_training.ring_order == [(EMB2, 0), (TILE0, 0), (EMB2, 1)]


def test_expected_deposit_from_training(ring_training):
    mean, spread = ring_training.expected_deposit(10.0)
    assert mean == pytest.approx(6.5)
    assert spread == pytest.approx(0.0)
    assert ring_training.expected_deposit(0.0) == (0.0, 0.0)


def test_rings_taken_until_deposit_used(ring_training):
    # E_exp = 6.5: EMB2 ring 0 (2.5, left 4.0), TileBar0 ring 0 (3.0, left 1.0),
    # EMB2 ring 1 (1.0, left 0.0); the photon in EMB2 ring 2 stays.
    cloud = make_cloud(
        [
            Cell(0.0, 0.04, 5.0, layer=EMB2),
            Cell(0.0, 0.025, 1.0, layer=EMB2),
            Cell(0.0, 0.03, 3.0, layer=TILE0),
            Cell(0.0, 0.005, 2.5, layer=EMB2),
        ],
        track_points=AXIS,
        track_pt=10.0,
        num_padding=2,
    )
    output = ring_training.predict([cloud])[0]
    assert output.shape == (cloud.num_nodes,)
    assert cells_of(output, cloud) == [0.0, 1.0, 1.0, 1.0]


def test_first_cell_too_large_stops(ring_training):
    # After EMB2 ring 0 the remaining expectation is 4.0; the 9 GeV TileBar0
    # cell exceeds twice that, so the 1 GeV cell in EMB2 ring 1 is not reached.
    cloud = make_cloud(
        [Cell(0.0, 0.005, 2.5), Cell(0.0, 0.03, 9.0, layer=TILE0), Cell(0.0, 0.025, 1.0)],
        track_points=AXIS,
        track_pt=10.0,
    )
    assert cells_of(ring_training.predict([cloud])[0], cloud) == [1.0, 0.0, 0.0]


def test_cell_half_expected_is_taken(ring_training):
    # Remaining 6.5 - 2.5 = 4.0 after ring 0; a TileBar0 cell of exactly 8.0 is still taken.
    cloud = make_cloud([Cell(0.0, 0.005, 2.5), Cell(0.0, 0.03, 8.0, layer=TILE0)], track_points=AXIS, track_pt=10.0)
    assert cells_of(ring_training.predict([cloud])[0], cloud) == [1.0, 1.0]


def test_missing_intersection_uses_delta_r(ring_training):
    # The reference direction is phi = 0.02. EMB2 distances are measured from
    # the EMB2 intersection at phi = 0 (rings 0 and 1); the cloud has no
    # TileBar0 intersection, so the TileBar0 cell uses delta_r = 0.03 (ring 0),
    # which is visited before EMB2 ring 1: 2.5 + 3.0 leaves 1.0 < 4.0 / 2.
    cloud = make_cloud(
        [Cell(0.0, 0.005, 2.5), Cell(0.0, 0.05, 3.0, layer=TILE0), Cell(0.0, 0.025, 4.0)],
        track_points=[(EMB2, 0.0, 0.0)],
        track_pt=10.0,
        track_phi=0.02,
    )
    assert cells_of(ring_training.predict([cloud])[0], cloud) == [1.0, 1.0, 0.0]


@pytest.fixture
def cluster_training():
    # E/p of 0.5 and 0.7: <E/p> = 0.6 and sigma = 0.1, so at p = 10 GeV
    # E_exp = 6 GeV and the whole-cluster window is |E_cl - 6| < 1.64 GeV.
    clouds = [make_cloud([focus_cell(0.005, energy)], track_points=AXIS, track_pt=10.0) for energy in (5.0, 7.0)]
    return CellSubtraction(min_tracks_per_bin=1).fit(clouds)


@pytest.mark.parametrize(
    ("tail_energy", "expected"),
    [
        (3.0, [1.0, 1.0, 0.0]),  # cluster 7 contains 7 GeV: taken whole, tail included
        (4.0, [1.0, 0.0, 1.0]),  # 8 GeV is outside the window: ring by ring instead
    ],
)
def test_whole_cluster_rule(cluster_training, tail_energy, expected):
    cloud = make_cloud(
        [Cell(0.0, 0.005, 4.0, cluster=7), Cell(0.0, 0.15, tail_energy, cluster=7), Cell(0.0, 0.1, 2.0, cluster=8)],
        track_points=AXIS,
        track_pt=10.0,
    )
    assert cluster_training.expected_deposit(10.0) == pytest.approx((6.0, 1.0))
    assert cells_of(cluster_training.predict([cloud])[0], cloud) == expected


def test_higher_pt_track_claims_cells_first():
    training = make_cloud([focus_cell(0.005, 5.0)], track_points=AXIS, track_pt=10.0)
    subtraction = CellSubtraction(min_tracks_per_bin=1).fit([training])  # <E/p> = 0.5
    # Both clouds hold cell 42. The 20 GeV track (E_exp 10) takes 42 and 43;
    # the 10 GeV track (E_exp 5) then only gets 44. In the reverse order it
    # would take 42 and stop at 44 (3 > 2 * 1).
    low = make_cloud(
        [Cell(0.0, 0.005, 4.0, cell_id=42), Cell(0.0, 0.025, 3.0, cell_id=44)],
        track_points=AXIS,
        event_number=5,
        track_index=1,
        track_pt=10.0,
    )
    high = make_cloud(
        [Cell(0.0, 0.005, 4.0, cell_id=42), Cell(0.0, 0.025, 3.0, cell_id=43)],
        track_points=AXIS,
        event_number=5,
        track_index=0,
        track_pt=20.0,
    )
    other_event = make_cloud(
        [Cell(0.0, 0.005, 4.0, cell_id=42), Cell(0.0, 0.025, 3.0, cell_id=44)],
        track_points=AXIS,
        event_number=6,
        track_pt=10.0,
    )
    low_output, high_output, other_output = subtraction.predict([low, high, other_event])
    assert cells_of(high_output, high) == [1.0, 1.0]
    assert cells_of(low_output, low) == [0.0, 1.0]
    assert cells_of(other_output, other_event) == [1.0, 0.0]


def test_momentum_bins_fall_back_to_all_tracks():
    # Two tracks at 5 GeV (E/p 0.4 and 0.6) and one at 30 GeV (E/p 0.8).
    clouds = [
        make_cloud([focus_cell(0.005, 2.0)], track_points=AXIS, track_pt=5.0),
        make_cloud([focus_cell(0.005, 3.0)], track_points=AXIS, track_pt=5.0),
        make_cloud([focus_cell(0.005, 24.0)], track_points=AXIS, track_pt=30.0),
    ]
    subtraction = CellSubtraction(momentum_edges=(10.0,), min_tracks_per_bin=2).fit(clouds)
    assert subtraction.e_over_p_mean == pytest.approx([0.5, 0.6])
    assert subtraction.e_over_p_std == pytest.approx([0.1, np.std([0.4, 0.6, 0.8])])
    assert subtraction.expected_deposit(20.0) == pytest.approx((12.0, 20.0 * np.std([0.4, 0.6, 0.8])))


def test_predict_before_fit_raises():
    cloud = make_cloud([focus_cell(0.005, 1.0)], track_points=AXIS)
    with pytest.raises(RuntimeError, match="not fitted"):
        CellSubtraction().predict([cloud])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"momentum_edges": (10.0, 5.0)}, "increasing"),
        ({"min_tracks_per_bin": 0}, "at least 1"),
        ({"cluster_sigma": -1.0}, "non-negative"),
    ],
)
def test_invalid_settings_raise(arguments, message):
    with pytest.raises(ValueError, match=message):
        CellSubtraction(**arguments)
