"""Cell readout: deposits binned into cells, electronic noise and per-cell truth contributions.

Noise is drawn sparsely but with the exact distribution of independent
Gaussian noise on every cell. Topo-clustering only needs (a) the energy of
cells with a signal, (b) which other cells fluctuate above the growth
threshold, with their values, and (c) the energy of the cells it touches as
perimeter cells. So (a) gets a full Gaussian draw, (b) is a Binomial number
of cells chosen uniformly with values from the Gaussian tail beyond the
threshold, and (c) is drawn on request from the Gaussian truncated to the
threshold. Drawing all ~185k cells per event would cost more than the rest
of the simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .deposits import Deposits
from .detector import Detector

__all__ = ["CellHits", "bin_deposits", "CellEnergies", "sorted_unique"]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Return the sorted distinct values (a sort-based ``np.unique``, faster for small integer arrays)."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


@dataclass
class CellHits:
    """Cells with a deposit, and who deposited what.

    Attributes:
        rows: Cell rows with a deposit, sorted, int64 ``[num_hit]``.
        signal: EM-scale signal per hit cell, GeV.
        truth: Deposited (calibration-hit) energy per hit cell, GeV.
        contribution_row: Cell row of each (cell, particle) contribution,
            sorted by row and then by decreasing energy.
        contribution_particle: Truth index of each contribution.
        contribution_energy: Deposited energy of each contribution, GeV.
        uncovered: Energy per truth particle whose spot fell outside every cell of its sampling, GeV.
    """

    rows: np.ndarray
    signal: np.ndarray
    truth: np.ndarray
    contribution_row: np.ndarray
    contribution_particle: np.ndarray
    contribution_energy: np.ndarray
    uncovered: np.ndarray

    def contributions(self, rows: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the leading contributions of the given cells (repeats allowed).

        Returns:
            ``(counts, particle, energy)``: the number of contributions kept per
            requested cell (at most ``limit``), then the truth indices and
            energies (GeV) of all kept contributions, cell after cell, largest first.
        """
        start = np.searchsorted(self.contribution_row, rows, side="left")
        stop = np.searchsorted(self.contribution_row, rows, side="right")
        counts = np.minimum(stop - start, limit)
        total = int(counts.sum())
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        index = np.repeat(start, counts) + offset
        return counts, self.contribution_particle[index], self.contribution_energy[index]


def bin_deposits(detector: Detector, deposits: Deposits, num_particles: int) -> CellHits:
    """Sum the spots of an event into cells, per cell and per (cell, particle)."""
    rows = detector.find_cells(deposits.sampling, deposits.eta, deposits.phi)
    outside = rows < 0
    uncovered = np.bincount(deposits.particle[outside], weights=deposits.truth[outside], minlength=num_particles)
    rows = rows[~outside]
    particle = deposits.particle[~outside]

    hit_rows, cell_index = np.unique(rows, return_inverse=True)
    signal = np.bincount(cell_index, weights=deposits.signal[~outside], minlength=len(hit_rows))
    truth_spots = deposits.truth[~outside]
    truth = np.bincount(cell_index, weights=truth_spots, minlength=len(hit_rows))

    pair, pair_index = np.unique(cell_index * max(num_particles, 1) + particle, return_inverse=True)
    pair_energy = np.bincount(pair_index, weights=truth_spots, minlength=len(pair))
    pair_cell, pair_particle = np.divmod(pair, max(num_particles, 1))
    order = np.lexsort((-pair_energy, pair_cell))
    return CellHits(
        rows=hit_rows,
        signal=signal,
        truth=truth,
        contribution_row=hit_rows[pair_cell[order]],
        contribution_particle=pair_particle[order],
        contribution_energy=pair_energy[order],
        uncovered=uncovered,
    )


def _normal_tail(rng: np.random.Generator, threshold: float, size: int) -> np.ndarray:
    """Draw |z| > threshold from a standard normal, with a random sign (Marsaglia's tail method)."""
    values = np.empty(0)
    while len(values) < size:
        wanted = int((size - len(values)) * 1.3) + 8
        candidate = np.sqrt(threshold**2 - 2.0 * np.log(rng.uniform(size=wanted)))
        accepted = candidate[rng.uniform(size=wanted) * candidate < threshold]
        values = np.concatenate([values, accepted])
    return values[:size] * rng.choice(np.array([-1.0, 1.0]), size)


def _normal_core(rng: np.random.Generator, threshold: np.ndarray) -> np.ndarray:
    """Draw one z per element from a standard normal restricted to |z| <= threshold (array)."""
    values = rng.standard_normal(len(threshold))
    outside = np.flatnonzero(np.abs(values) > threshold)
    while len(outside):
        values[outside] = rng.standard_normal(len(outside))
        outside = outside[np.abs(values[outside]) > threshold[outside]]
    return values


class CellEnergies:
    """Cell energies of one event (EM-scale signal plus noise, GeV), drawn sparsely.

    Args:
        rng: Random stream of the event.
        detector: The cell grid (noise sigma per cell).
        hits: Signal cells of the event.
        threshold_sigma: Noise sigma of the clustering thresholds per cell, GeV
            ``[num_cells]``; at least the electronic noise, and the same for all
            cells of a sampling.
        growth_threshold: Cells with ``|E| > growth_threshold * threshold_sigma`` are the growth cells.

    Attributes:
        threshold_sigma: As given.
        growth_rows: Rows of all cells above the growth threshold (signal or noise), sorted.
    """

    def __init__(self, rng: np.random.Generator, detector: Detector, hits: CellHits, threshold_sigma: np.ndarray, growth_threshold: float) -> None:
        self._rng = rng
        self._noise = detector.noise
        self.threshold_sigma = threshold_sigma
        num_cells = detector.num_cells
        # A noise-only cell is a growth cell when |E| / sigma_elec exceeds this.
        self._cut = growth_threshold * threshold_sigma / detector.noise

        # Noise-only growth cells, sampling by sampling (one cut per sampling).
        tail_rows, tail_energy = [], []
        for start, stop in detector.sampling_rows.values():
            cut = float(self._cut[start])
            count = rng.binomial(stop - start, math.erfc(cut / math.sqrt(2.0)))
            rows = start + rng.choice(stop - start, count, replace=False)
            tail_rows.append(rows)
            tail_energy.append(_normal_tail(rng, cut, count) * detector.noise[rows])
        tail_rows = np.concatenate(tail_rows)
        tail_energy = np.concatenate(tail_energy)
        signal_energy = hits.signal + rng.standard_normal(len(hits.rows)) * detector.noise[hits.rows]

        # Dense per-event store, NaN until a cell's energy is drawn. Signal
        # cells draw their own noise, so tail cells that have a signal keep it.
        self._values = np.full(num_cells, np.nan)
        self._values[tail_rows] = tail_energy
        self._values[hits.rows] = signal_energy
        is_hit = np.zeros(num_cells, bool)
        is_hit[hits.rows] = True
        candidates = np.sort(np.concatenate([hits.rows, tail_rows[~is_hit[tail_rows]]]))
        significance = np.abs(self._values[candidates]) / self.threshold_sigma[candidates]
        self.growth_rows = candidates[significance > growth_threshold]

    def energy(self, rows: np.ndarray) -> np.ndarray:
        """Return the energy in GeV of cells, drawing the noise of cells not seen before.

        Each cell's value is drawn once and then fixed for the event.
        """
        values = self._values[rows]
        missing = np.isnan(values)
        if missing.any():
            new_rows = sorted_unique(rows[missing])
            self._values[new_rows] = _normal_core(self._rng, self._cut[new_rows]) * self._noise[new_rows]
            values = self._values[rows]
        return values

    def significance(self, rows: np.ndarray) -> np.ndarray:
        """Return |E| / threshold sigma of cells."""
        return np.abs(self.energy(rows)) / self.threshold_sigma[rows]
