"""Decay kinematics, particle guns and jet-like events."""

import numpy as np
import pytest

from pflow_geo.pdg import charge as pdg_charge
from pflow_geo.simulation.config import SimulationConfig
from pflow_geo.simulation.particles import (
    PARTICLES, PROCESSES, four_momentum, generate_truth, invariant_mass, sample_rho_mass, two_body_decay,
)

PI0_MASS = PARTICLES[111].mass
PION_MASS = PARTICLES[211].mass


@pytest.mark.parametrize(("mass_1", "mass_2"), [(PION_MASS, PI0_MASS), (0.0, 0.0)])
def test_two_body_decay_conserves_momentum(mass_1, mass_2):
    rng = np.random.default_rng(5)
    parent = four_momentum(30.0, 0.8, 1.2, -2.0)
    first, second = two_body_decay(rng, parent, mass_1, mass_2)
    np.testing.assert_allclose(first + second, parent, atol=1e-9)
    assert invariant_mass(first) == pytest.approx(mass_1, abs=1e-6)
    assert invariant_mass(second) == pytest.approx(mass_2, abs=1e-6)


def test_rho_decay_invariant_masses():
    config = SimulationConfig(energy_min_gev=5.0, energy_max_gev=50.0)
    for index in range(50):
        truth = generate_truth(np.random.default_rng([1, index]), "rho", config)
        assert abs(truth.pdg_id[0]) == 213
        assert truth.pdg_id[1] == np.sign(truth.pdg_id[0]) * 211
        assert list(truth.pdg_id[2:]) == [111, 22, 22]
        assert list(truth.status) == [2, 1, 2, 1, 1]
        assert list(truth.parent) == [-1, 0, 0, 2, 2]
        momentum = truth.momentum
        assert invariant_mass(momentum[1] + momentum[2]) == pytest.approx(truth.mass[0], abs=1e-6)
        assert invariant_mass(momentum[3] + momentum[4]) == pytest.approx(PI0_MASS, abs=1e-6)
        np.testing.assert_allclose(momentum[1] + momentum[3] + momentum[4], momentum[0], atol=1e-9)


def test_rho_line_shape():
    rng = np.random.default_rng(3)
    masses = np.array([sample_rho_mass(rng) for _ in range(4000)])
    assert masses.min() >= PION_MASS + PI0_MASS
    assert masses.max() <= 1.5
    # The p-wave Breit-Wigner peaks at 0.775 GeV with a 0.149 GeV width and a
    # tail to high masses.
    assert np.median(masses) == pytest.approx(0.79, abs=0.02)
    assert np.mean(np.abs(masses - 0.775) < 0.149 / 2) == pytest.approx(0.5, abs=0.08)


def test_rho_mass_below_limit():
    rng = np.random.default_rng(4)
    assert max(sample_rho_mass(rng, maximum=0.5) for _ in range(200)) <= 0.5


@pytest.mark.parametrize("process", PROCESSES)
def test_generated_energy_and_direction_ranges(process):
    config = SimulationConfig(energy_min_gev=3.0, energy_max_gev=30.0, eta_min=0.2, eta_max=0.4, phi_min=1.0, phi_max=1.5)
    for index in range(20):
        truth = generate_truth(np.random.default_rng([2, index]), process, config)
        primaries = truth.parent == -1
        if process != "jet":
            assert primaries.sum() == 1
            assert 3.0 <= truth.momentum[primaries, 0][0] <= 30.0 + 1e-9
            assert 0.2 <= truth.eta[primaries][0] <= 0.4
            assert 1.0 <= truth.phi[primaries][0] <= 1.5
        decayed = truth.status == 2
        assert set(truth.pdg_id[decayed].tolist()) <= {111, 213, -213}
        assert np.all(truth.momentum[:, 0] >= truth.mass - 1e-9)


def test_jet_particles_spread_around_axis():
    config = SimulationConfig(energy_min_gev=100.0, energy_max_gev=100.0, eta_min=0.5, eta_max=0.5, phi_min=0.0, phi_max=0.0)
    truth = generate_truth(np.random.default_rng([9, 0]), "jet", config)
    stable = truth.status == 1
    assert stable.sum() >= 4
    assert set(np.abs(truth.pdg_id[stable])) <= {211, 22, 321, 130, 2212, 2112}
    dphi = np.mod(truth.phi[stable] + np.pi, 2 * np.pi) - np.pi
    assert np.all(np.hypot(truth.eta[stable] - 0.5, dphi) < 1.0)
    # Every pi0 decays into two photons that follow it in the list.
    for index in np.flatnonzero(truth.pdg_id == 111):
        children = np.flatnonzero(truth.parent == index)
        assert list(truth.pdg_id[children]) == [22, 22]


def test_particle_charges_match_pdg_lookup():
    ids = np.array(list(PARTICLES))
    np.testing.assert_array_equal(pdg_charge(ids), [PARTICLES[int(i)].charge for i in ids])


def test_unknown_process_rejected():
    with pytest.raises(ValueError, match="unknown process 'kaon'"):
        generate_truth(np.random.default_rng(0), "kaon", SimulationConfig())
