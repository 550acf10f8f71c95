"""Track bending, layer intersections and where charged showers land."""

import numpy as np
import pytest

from pflow_geo.geometry import EXTRAPOLATION_LAYERS, Sampling
from pflow_geo.simulation.config import SimulationConfig
from pflow_geo.simulation.event import available_energy, event_rng, shower_particles
from pflow_geo.simulation.particles import generate_truth
from pflow_geo.simulation.tracking import Trajectory, smear_tracks

EMB2 = EXTRAPOLATION_LAYERS.index(Sampling.EMB2)


@pytest.mark.parametrize(("pt", "radius", "expected"), [(1.0, 1723.89, 0.483), (2.0, 1422.3, 0.210), (10.0, 3630.0, 0.060), (50.0, 1923.02, 0.0099)])
def test_bending_matches_helix_and_straight_line(pt, radius, expected):
    # |delta phi| of a helix in 2 T up to r = 1.2 m and a straight line beyond.
    _, phi, valid = Trajectory(pt, 0.0, 0.0, 1.0).at_radius(np.array([radius]))
    assert valid[0]
    assert -phi[0] == pytest.approx(expected, abs=0.0015)


def test_charge_sign_and_neutral():
    _, positive, _ = Trajectory(5.0, 0.3, 1.0, 1.0).at_radius(np.array([1723.89]))
    _, negative, _ = Trajectory(5.0, 0.3, 1.0, -1.0).at_radius(np.array([1723.89]))
    _, neutral, _ = Trajectory(5.0, 0.3, 1.0, 0.0).at_radius(np.array([1723.89]))
    assert positive[0] < 1.0 < negative[0]
    assert neutral[0] == pytest.approx(1.0)


def test_low_pt_track_never_reaches_barrel():
    assert not Trajectory(0.3, 0.0, 0.0, 1.0).reaches_calorimeter[0]


def test_layer_intersections_follow_coverage():
    eta, phi = Trajectory(np.array([10.0, 10.0]), np.array([0.5, 2.0]), np.zeros(2), np.ones(2)).layer_intersections()
    crossed = {layer.name for layer, value in zip(EXTRAPOLATION_LAYERS, eta[0]) if np.isfinite(value)}
    assert crossed == {"PreSamplerB", "EMB1", "EMB2", "EMB3", "TileBar0", "TileBar1", "TileBar2"}
    crossed = {layer.name for layer, value in zip(EXTRAPOLATION_LAYERS, eta[1]) if np.isfinite(value)}
    assert crossed == {"EME1", "EME2", "EME3", "HEC0", "HEC1", "HEC2", "HEC3"}


def test_smeared_tracks_close_to_truth():
    rng = np.random.default_rng(1)
    tracks = smear_tracks(rng, np.full(500, 20.0), np.full(500, 0.3), np.zeros(500), np.ones(500))
    # sigma(pT)/pT = 0.034 %/GeV * pT (+) 1.5 %; sigma(phi) is about 0.1 mrad.
    assert np.std(tracks["pt"] / 20.0) == pytest.approx(0.016, rel=0.25)
    assert np.std(tracks["phi"]) < 3e-4
    assert np.all(tracks["ndof"] > 0)
    assert tracks["layer_eta"].shape == (500, 21)


def test_pion_shower_lands_on_track_extrapolation():
    config = SimulationConfig(energy_min_gev=5.0, energy_max_gev=5.0, eta_min=0.2, eta_max=0.4, phi_min=0.0, phi_max=0.0)
    offsets = []
    for index in range(40):
        rng = event_rng(3, index)
        truth = generate_truth(rng, "pion", config)
        deposits = shower_particles(rng, truth, available_energy(truth)).deposits()
        in_emb2 = deposits.sampling == Sampling.EMB2
        if deposits.signal[in_emb2].sum() < 0.5:
            continue
        charge = 1.0 if truth.pdg_id[0] > 0 else -1.0
        _, layer_phi = Trajectory(truth.pt, truth.eta, truth.phi, np.array([charge])).layer_intersections()
        shower_phi = np.average(deposits.phi[in_emb2], weights=deposits.truth[in_emb2])
        offsets.append((shower_phi - layer_phi[0, EMB2], charge * layer_phi[0, EMB2]))
    offsets = np.array(offsets)
    assert len(offsets) > 10
    # The shower is centred on the extrapolated track, which a 5 GeV pion
    # reaches about 0.09 rad away from its initial phi, towards -q.
    assert np.median(np.abs(offsets[:, 0])) < 0.01
    assert np.all(offsets[:, 1] < -0.08)
