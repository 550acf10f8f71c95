"""Sparse electronic noise: the same distribution as independent Gaussian noise on every cell."""

import math

import numpy as np
import pytest

from pflow_geo.geometry import Sampling
from pflow_geo.simulation.readout import CellEnergies, CellHits


def empty_hits():
    empty = np.zeros(0)
    return CellHits(empty.astype(np.int64), empty, empty, empty.astype(np.int64), empty.astype(np.int64), empty, empty)


def test_noise_is_gaussian_per_cell(detector):
    threshold = detector.threshold_noise(1.0)
    start, stop = detector.sampling_rows[int(Sampling.EMB3)]
    rows = np.arange(start, stop)
    values = []
    for index in range(30):
        energies = CellEnergies(np.random.default_rng([8, index]), detector, empty_hits(), threshold, 2.0)
        values.append(energies.energy(rows) / detector.noise[rows])
    values = np.concatenate(values)
    cut = 2.0 * threshold[start] / detector.noise[start]
    assert np.mean(values) == pytest.approx(0.0, abs=0.01)
    assert np.std(values) == pytest.approx(1.0, abs=0.01)
    assert np.mean(np.abs(values) > cut) == pytest.approx(math.erfc(cut / math.sqrt(2)), rel=0.1)
    assert np.mean(np.abs(values) > 1.0) == pytest.approx(math.erfc(1 / math.sqrt(2)), abs=0.005)


def test_growth_cells_and_fixed_values(detector):
    threshold = detector.threshold_noise(0.0)
    energies = CellEnergies(np.random.default_rng(1), detector, empty_hits(), threshold, 2.0)
    growth = energies.growth_rows
    # With thresholds at the electronic noise, 4.6 % of the cells pass 2 sigma.
    assert len(growth) == pytest.approx(detector.num_cells * math.erfc(2 / math.sqrt(2)), rel=0.05)
    assert np.all(energies.significance(growth) > 2.0)
    others = np.setdiff1d(np.arange(0, detector.num_cells, 97), growth)
    first = energies.energy(others)
    assert np.all(np.abs(first) <= 2.0 * threshold[others])
    np.testing.assert_array_equal(energies.energy(others), first)


def test_signal_cells_get_full_noise(detector):
    rows = np.arange(1000, 1100)
    hits = CellHits(rows, np.full(100, 0.5), np.full(100, 0.5), rows, np.zeros(100, np.int64), np.full(100, 0.5), np.zeros(1))
    energies = CellEnergies(np.random.default_rng(2), detector, hits, detector.threshold_noise(1.0), 2.0)
    residual = (energies.energy(rows) - 0.5) / detector.noise[rows]
    assert np.std(residual) == pytest.approx(1.0, abs=0.2)
    assert np.all(np.isin(rows, energies.growth_rows))
