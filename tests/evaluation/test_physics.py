import math

import numpy as np
import pytest

from pflow_geo.evaluation.binned import binned_quantiles, binned_rates
from pflow_geo.evaluation.scores import headline_scores
from pflow_geo.evaluation.tracks import summarize_tracks
from pflow_geo.geometry import Sampling

from .builders import make_table

EMB1, EMB2, TILE0 = int(Sampling.EMB1), int(Sampling.EMB2), int(Sampling.TileBar0)


@pytest.fixture
def table():
    # Track (1, 0, 0): pT 10 GeV, cells of 4, 2 and 3 GeV.
    #   true focal energy 4 * 1 + 2 * 0.5 = 5; predicted (prob > 0.5) 4 + 2 = 6;
    #   neutral 2 * 0.5 + 3 = 4 in all, 3 left in the unassigned cell.
    # Track (1, 0, 1): pT 5 GeV, eta -1, one 1 GeV cell of another charged particle, assigned.
    return make_table(
        {
            "event_number": [1, 1, 1, 1],
            "track_index": [0, 0, 0, 1],
            "energy": [4.0, 2.0, 3.0, 1.0],
            "label": [1, 0, 0, 0],
            "frac_focus": [1.0, 0.5, 0.0, 0.0],
            "frac_charged": [0.0, 0.0, 0.0, 1.0],
            "frac_neutral": [0.0, 0.5, 1.0, 0.0],
            "layer": [EMB2, EMB2, TILE0, EMB1],
            "delta_r": [0.01, 0.05, 0.3, 0.015],
            "track_pt": [10.0, 10.0, 10.0, 5.0],
            "track_eta": [0.0, 0.0, 0.0, -1.0],
        },
        {"model": [0.9, 0.6, 0.1, 0.7]},
    )


def test_track_energies_and_residual(table):
    tracks = summarize_tracks(table, "model")
    assert tracks.num_tracks == 2
    assert tracks.track_index.tolist() == [0, 1]
    assert tracks.num_cells.tolist() == [3, 1]
    assert tracks.true_energy.tolist() == [5.0, 0.0]
    assert tracks.predicted_energy.tolist() == [6.0, 1.0]
    assert tracks.residual[0] == pytest.approx(0.2)
    assert math.isnan(tracks.residual[1])
    assert tracks.true_neutral_energy.tolist() == [4.0, 0.0]
    assert tracks.neutral_energy_left.tolist() == [3.0, 0.0]
    assert tracks.track_p == pytest.approx([10.0, 5.0 * math.cosh(1.0)])
    assert tracks.predicted_e_over_p == pytest.approx([0.6, 1.0 / (5.0 * math.cosh(1.0))])


def test_track_threshold_moves_assignment(table):
    tracks = summarize_tracks(table, "model", threshold=0.8)
    assert tracks.predicted_energy.tolist() == [4.0, 0.0]
    assert tracks.residual[0] == pytest.approx(-0.2)
    assert tracks.neutral_energy_left.tolist() == [4.0, 0.0]


def test_tracks_unknown_method_raises(table):
    with pytest.raises(KeyError, match="prob_cone"):
        summarize_tracks(table, "cone")


def test_rates_in_track_pt_bins(table):
    rates = binned_rates(table, "model", "track_pt", edges=(0.0, 7.0, 20.0))
    assert rates.edges.tolist() == [0.0, 7.0, 20.0]
    assert rates.num_cells.tolist() == [1, 3]
    assert rates.true_energy.tolist() == [0.0, 4.0]
    assert rates.predicted_energy.tolist() == [1.0, 6.0]
    assert rates.matched_energy.tolist() == [0.0, 4.0]
    assert math.isnan(rates.efficiency[0])
    assert rates.efficiency[1] == 1.0
    assert rates.purity.tolist() == pytest.approx([0.0, 4.0 / 6.0])


def test_rates_per_layer(table):
    rates = binned_rates(table, "model", "layer")
    assert rates.edges is None
    assert rates.categories.tolist() == [EMB1, EMB2, TILE0]
    assert rates.num_cells.tolist() == [1, 2, 1]
    assert rates.purity[0] == 0.0
    assert rates.efficiency[1] == 1.0
    assert rates.purity[1] == pytest.approx(4.0 / 6.0)
    assert math.isnan(rates.efficiency[2])
    assert math.isnan(rates.purity[2])


def test_rates_overflow_in_last_bin(table):
    # delta_r 0.3 lies above the last edge and counts in the last bin.
    rates = binned_rates(table, "model", "delta_r", edges=(0.0, 0.02, 0.1))
    assert rates.num_cells.tolist() == [2, 2]
    assert rates.predicted_energy.tolist() == [5.0, 2.0]
    assert rates.efficiency[0] == 1.0
    assert math.isnan(rates.efficiency[1])
    assert rates.purity.tolist() == pytest.approx([0.8, 0.0])


def test_rates_in_abs_eta(table):
    rates = binned_rates(table, "model", "abs_track_eta", edges=(0.0, 0.5, 1.5))
    assert rates.num_cells.tolist() == [3, 1]


def test_rates_reject_unknown_variable(table):
    with pytest.raises(ValueError, match="unknown variable 'phi'"):
        binned_rates(table, "model", "phi")


def test_rates_reject_unsorted_edges(table):
    with pytest.raises(ValueError, match="increasing"):
        binned_rates(table, "model", "track_pt", edges=(5.0, 1.0))


def test_quantiles_per_bin():
    quantiles = binned_quantiles(
        np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), np.array([1.0, 2.0, 3.0, 4.0, np.nan, 10.0]), (0.0, 3.5, 10.0, 20.0)
    )
    assert quantiles.count.tolist() == [3, 2, 0]
    assert quantiles.median[:2].tolist() == [2.0, 7.0]
    assert quantiles.lower[:2].tolist() == [1.5, 5.5]
    assert quantiles.upper[:2].tolist() == [2.5, 8.5]
    assert quantiles.iqr[:2].tolist() == [1.0, 3.0]
    assert math.isnan(quantiles.median[2])


def test_rates_weigh_absolute_energy():
    # A -2 GeV noise cell, predicted but not focus, costs purity like a +2 GeV one.
    table = make_table({"energy": [4.0, -2.0], "label": [1, 0], "track_pt": [10.0, 10.0]}, {"model": [0.9, 0.8]})
    rates = binned_rates(table, "model", "track_pt")
    assert rates.predicted_energy[3] == 6.0
    assert rates.purity[3] == pytest.approx(4.0 / 6.0)


def test_rates_sum_to_headline_scores(table):
    rates = binned_rates(table, "model", "layer")
    scores = headline_scores(table, "model")
    assert rates.matched_energy.sum() / rates.true_energy.sum() == pytest.approx(scores["weighted_recall"])
    assert rates.matched_energy.sum() / rates.predicted_energy.sum() == pytest.approx(scores["weighted_precision"])
