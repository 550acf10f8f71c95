"""Energy bookkeeping: every GeV of every particle ends in cells, dead material, a gap, leakage or nowhere."""

import numpy as np
import pytest

from pflow_geo.simulation.config import SimulationConfig
from pflow_geo.simulation.event import available_energy, event_rng, shower_particles, simulate_event
from pflow_geo.simulation.particles import PROCESSES, generate_truth
from pflow_geo.simulation.readout import bin_deposits


@pytest.mark.parametrize("process", PROCESSES)
def test_truth_in_cells_equals_deposited_energy(detector, process):
    config = SimulationConfig(energy_min_gev=5.0, energy_max_gev=80.0)
    for index in range(4):
        rng = event_rng(17, index)
        truth = generate_truth(rng, process, config)
        deposits = shower_particles(rng, truth, available_energy(truth)).deposits()
        hits = bin_deposits(detector, deposits, len(truth))

        # Before noise and clustering: the truth energy summed over all cells is
        # the energy of the spots that landed in a cell.
        assert hits.truth.sum() == pytest.approx(deposits.truth.sum() - hits.uncovered.sum(), rel=1e-12)
        assert hits.contribution_energy.sum() == pytest.approx(hits.truth.sum(), rel=1e-12)
        per_particle = np.bincount(hits.contribution_particle, weights=hits.contribution_energy, minlength=len(truth))
        expected = np.bincount(deposits.particle, weights=deposits.truth, minlength=len(truth)) - hits.uncovered
        np.testing.assert_allclose(per_particle, expected, atol=1e-9)


@pytest.mark.parametrize("process", PROCESSES)
def test_ledger_balances_available_energy(detector, process):
    config = SimulationConfig(energy_min_gev=2.0, energy_max_gev=200.0)
    for index in range(3):
        record = simulate_event(process, 23, index, config, detector)
        ledger = record.ledger
        total = ledger.cells + ledger.dead + ledger.uncovered + ledger.leaked + ledger.missed
        np.testing.assert_allclose(total, ledger.available, atol=1e-9)
        decayed = record.truth.status == 2
        assert np.all(ledger.available[decayed] == 0)


def test_signal_is_em_scale(detector):
    config = SimulationConfig(energy_min_gev=50.0, energy_max_gev=50.0, eta_min=-0.5, eta_max=0.5)
    photon, pion = [], []
    for index in range(20):
        for process, store in (("photon", photon), ("pion", pion)):
            rng = event_rng(31, index)
            truth = generate_truth(rng, process, config)
            hits = bin_deposits(detector, shower_particles(rng, truth, available_energy(truth)).deposits(), len(truth))
            store.append(hits.signal.sum() / hits.truth.sum())
    # Photons: signal equals deposited energy on average; pions: non-compensation (h/e < 1).
    assert np.mean(photon) == pytest.approx(1.0, abs=0.02)
    assert 0.6 < np.mean(pion) < 0.9
