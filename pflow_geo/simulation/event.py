"""Simulation of one event: truth, showers, tracks, cells, noise and topo-clusters.

Everything random in an event comes from one generator seeded with
``(seed, event_index)``, so an event does not depend on which process or
chunk generates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .clustering import topo_cluster
from .config import SimulationConfig
from .deposits import DepositCollector, ShowerAxis
from .detector import Detector
from .material import get_stack
from .particles import PARTICLES, TruthRecord, generate_truth
from .readout import CellEnergies, CellHits, bin_deposits
from .showers import em_shower, hadron_shower
from .splitter import split_cluster
from .tracking import Trajectory, smear_tracks

__all__ = ["EventRecord", "Ledger", "simulate_event", "event_rng", "shower_particles", "available_energy"]

# Tracks are reconstructed within the inner-detector acceptance.
_TRACKER_ABS_ETA = 2.5


def event_rng(seed: int, event_index: int) -> np.random.Generator:
    """Return the random generator of one event; it depends only on the run seed and the event index."""
    return np.random.default_rng([seed, event_index])


@dataclass
class Ledger:
    """Energy bookkeeping of each truth particle, GeV ``[num_particles]`` per field.

    Attributes:
        available: Energy the particle can deposit (E, or kinetic energy for baryons, E + m for anti-baryons).
        cells: Deposited in cells.
        dead: Deposited in inactive material.
        uncovered: Deposited in a layer where its sampling has no cell (gaps in coverage).
        leaked: Left the back of the calorimeter.
        missed: Never reached a calorimeter layer (loopers, |eta| >= 3.3).
    """

    available: np.ndarray
    cells: np.ndarray
    dead: np.ndarray
    uncovered: np.ndarray
    leaked: np.ndarray
    missed: np.ndarray


@dataclass
class EventRecord:
    """One simulated event with the quantities MLTree stores (numpy, before assembly into branches).

    Attributes:
        event_number: Index of the event in the run.
        truth: The truth particles.
        tracks: Reconstructed tracks, as returned by ``smear_tracks`` plus
            ``truth_index`` (-1 for unmatched tracks).
        clusters: Per cluster, sorted by decreasing energy: ``energy``, ``pt``
            (GeV), ``eta``, ``phi``, ``num_cells`` (all cells), ``num_kept``
            (cells passing the cell-energy cut) and ``num_lists`` (per-cell truth
            lists written). Concatenated over clusters: ``cell_id``,
            ``cell_energy`` (weighted, GeV) of the kept cells, ``truth_count``
            (contributors per truth list) and ``truth_index``, ``truth_energy``
            (GeV) of the contributors.
        ledger: Where each particle's energy went.
        hits: The cells with a deposit before noise, for diagnostics.
    """

    event_number: int
    truth: TruthRecord
    tracks: dict[str, np.ndarray]
    clusters: dict[str, np.ndarray]
    ledger: Ledger
    hits: CellHits = field(repr=False)


def available_energy(truth: TruthRecord) -> np.ndarray:
    """Return the energy each truth particle can deposit, GeV: 0 for decayed ones, kinetic energy for baryons, E + m for anti-baryons."""
    energy = truth.momentum[:, 0].copy()
    for index, pdg_id in enumerate(truth.pdg_id):
        species = PARTICLES[int(pdg_id)]
        if truth.status[index] != 1 or species.shower == "none":
            energy[index] = 0.0
        elif species.baryon:
            energy[index] += -species.baryon * species.mass
    return energy


def shower_particles(rng: np.random.Generator, truth: TruthRecord, available: np.ndarray) -> DepositCollector:
    """Generate the deposits of every stable particle of an event."""
    collector = DepositCollector(len(truth))
    pt, eta, phi = truth.pt, truth.eta, truth.phi
    charge = truth.charge
    for index in np.flatnonzero(available > 0):
        species = PARTICLES[int(truth.pdg_id[index])]
        stack = get_stack(abs(eta[index]))
        trajectory = Trajectory(pt[index], eta[index], phi[index], charge[index]) if charge[index] else None
        if stack is None or (trajectory is not None and not trajectory.reaches_calorimeter[0]):
            collector.missed[index] += available[index]
            continue
        axis = ShowerAxis(float(eta[index]), float(phi[index]), trajectory)
        if species.shower == "em":
            start = rng.exponential(9.0 / 7.0) if species.charge == 0 else 0.0
            em_shower(rng, collector, stack, axis, index, float(available[index]), start)
        else:
            hadron_shower(rng, collector, stack, axis, index, species, float(available[index]))
    return collector


def _reconstruct_tracks(rng: np.random.Generator, truth: TruthRecord, config: SimulationConfig) -> dict[str, np.ndarray]:
    charge = truth.charge
    candidates = np.flatnonzero((truth.status == 1) & (charge != 0) & (np.abs(truth.eta) < _TRACKER_ABS_ETA))
    efficient = rng.uniform(size=len(candidates)) < config.track_efficiency
    candidates = candidates[efficient]
    pt, eta, phi = truth.pt[candidates], truth.eta[candidates], truth.phi[candidates]
    truth_index = candidates

    if rng.uniform() < config.unmatched_track_rate:
        eta_range = (max(config.eta_min, -_TRACKER_ABS_ETA), min(config.eta_max, _TRACKER_ABS_ETA))
        pt = np.append(pt, config.min_track_pt_gev + rng.exponential(1.5))
        eta = np.append(eta, rng.uniform(*eta_range))
        phi = np.append(phi, rng.uniform(config.phi_min, config.phi_max))
        truth_index = np.append(truth_index, -1)
        track_charge = np.append(charge[candidates], rng.choice([-1, 1]))
    else:
        track_charge = charge[candidates]

    tracks = smear_tracks(rng, pt, eta, phi, track_charge.astype(np.float64))
    tracks["truth_index"] = truth_index.astype(np.int32)
    # A fake track is a poor fit.
    tracks["chi2"] = np.where(truth_index < 0, 2.5 * tracks["chi2"], tracks["chi2"])
    keep = tracks["pt"] >= config.min_track_pt_gev
    return {name: values[keep] for name, values in tracks.items()}


def _build_clusters(rng: np.random.Generator, detector: Detector, hits: CellHits, config: SimulationConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return ``(rows, weighted energy in GeV)`` per cluster after topo-clustering and splitting."""
    threshold_sigma = detector.threshold_noise(config.pileup_noise_scale)
    energies = CellEnergies(rng, detector, hits, threshold_sigma, config.growth_threshold)
    clusters = topo_cluster(
        detector.neighbours, detector.num_cells, energies.growth_rows, energies.significance,
        config.seed_threshold, config.growth_threshold, config.perimeter_threshold,
    )
    result = []
    for rows in clusters:
        energy = energies.energy(rows)
        if not config.split_clusters:
            result.append((rows, energy))
            continue
        for split_rows, weights in split_cluster(rows, energy, detector, detector.neighbours):
            result.append((split_rows, energies.energy(split_rows) * weights))
    return result


def _cluster_branches(detector: Detector, hits: CellHits, clusters: list, config: SimulationConfig) -> dict[str, np.ndarray]:
    """Compute cluster kinematics, apply the cluster and cell cuts and collect the per-cell truth."""
    kinematics = []
    for rows, energy in clusters:
        total = float(energy.sum())
        weight = np.abs(energy)
        eta = float(np.average(detector.eta[rows], weights=weight))
        phi = float(np.arctan2(np.sum(weight * np.sin(detector.phi[rows])), np.sum(weight * np.cos(detector.phi[rows]))))
        kinematics.append((total, eta, phi))
    keep = [i for i, (total, eta, _) in enumerate(kinematics) if total >= config.min_cluster_energy_gev and abs(eta) <= config.max_cluster_abs_eta]
    keep.sort(key=lambda i: -kinematics[i][0])

    scalars = ("energy", "eta", "phi", "num_cells", "num_kept", "num_lists")
    flat = ("cell_id", "cell_energy", "truth_count", "truth_index", "truth_energy")
    columns: dict[str, list] = {name: [] for name in scalars + flat}
    for i in keep:
        rows, energy = clusters[i]
        total, eta, phi = kinematics[i]
        kept = energy >= config.cell_energy_threshold_gev
        counts, particle, truth_energy = hits.contributions(rows[kept], config.truth_contributors)
        num_lists = len(rows) if config.pad_truth_lists else int(kept.sum())
        columns["energy"].append(total)
        columns["eta"].append(eta)
        columns["phi"].append(phi)
        columns["num_cells"].append(len(rows))
        columns["num_kept"].append(int(kept.sum()))
        columns["num_lists"].append(num_lists)
        columns["cell_id"].append(detector.id[rows[kept]])
        columns["cell_energy"].append(energy[kept])
        columns["truth_count"].append(np.concatenate([counts, np.zeros(num_lists - len(counts), np.int64)]))
        columns["truth_index"].append(particle)
        columns["truth_energy"].append(truth_energy)

    result = {name: np.array(columns[name]) for name in scalars}
    for name in flat:
        result[name] = np.concatenate(columns[name]) if columns[name] else np.zeros(0)
    result["pt"] = result["energy"] / np.cosh(result["eta"]) if len(keep) else np.zeros(0)
    return result


def simulate_event(process: str, seed: int, event_index: int, config: SimulationConfig, detector: Detector) -> EventRecord:
    """Simulate one event.

    Args:
        process: One of ``pflow_geo.simulation.particles.PROCESSES``.
        seed: The run seed (non-negative).
        event_index: Index of the event in the run; also its event number.
        config: Simulation settings.
        detector: The cell grid, built with ``config.noise_scale``.
    """
    rng = event_rng(seed, event_index)
    truth = generate_truth(rng, process, config)
    available = available_energy(truth)
    collector = shower_particles(rng, truth, available)
    hits = bin_deposits(detector, collector.deposits(), len(truth))
    tracks = _reconstruct_tracks(rng, truth, config)
    clusters = _build_clusters(rng, detector, hits, config)

    cells = np.bincount(hits.contribution_particle, weights=hits.contribution_energy, minlength=len(truth))
    ledger = Ledger(available, cells, collector.dead, hits.uncovered, collector.leaked, collector.missed)
    return EventRecord(event_index, truth, tracks, _cluster_branches(detector, hits, clusters, config), ledger, hits)
