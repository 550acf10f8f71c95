"""Random two-pion events for the training tests, written as a small MLTree file.

Each event has two charged pions with tracks and one photon, all within
0.15 of (eta, phi) = (0, 0). Every particle deposits its energy in the cells
of four barrel layers around its direction, with a Gaussian profile of
width 0.05 in (eta, phi). A cell's truth energy is the sum of the deposits,
and its EM-scale energy is 0.8 times that. Cells below 50 MeV are dropped,
so each cloud has tens of cells of both labels. A model learns the labels
from the distance to the focus track's intersections, which makes a few
epochs enough to beat the always-1 and always-0 baselines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pflow_geo.geometry import EXTRAPOLATION_LAYERS, Sampling
from pflow_geo.io.writer import write_mltree

SENTINEL = -999999999.0

# Layer -> (radius in mm, grid spacing in eta and phi).
LAYERS = {
    Sampling.EMB1: (1550.0, 0.05),
    Sampling.EMB2: (1700.0, 0.05),
    Sampling.EMB3: (1900.0, 0.1),
    Sampling.TileBar0: (2450.0, 0.1),
}
# Share of a particle's energy per layer, in the order of LAYERS.
PION_PROFILE = (0.1, 0.35, 0.15, 0.4)
PHOTON_PROFILE = (0.3, 0.6, 0.1, 0.0)
GRID_HALF_WIDTH = 0.4
SHOWER_WIDTH = 0.05
MIN_CELL_TRUTH_GEV = 0.05
PARTICLE_SPREAD = 0.15


def _cell_geometry() -> dict[str, np.ndarray]:
    ids, sampling, eta, phi, radius = [], [], [], [], []
    next_id = 1
    for layer, (r, spacing) in LAYERS.items():
        centres = np.arange(-GRID_HALF_WIDTH, GRID_HALF_WIDTH + 1e-9, spacing)
        for cell_eta in centres:
            for cell_phi in centres:
                ids.append(next_id)
                sampling.append(int(layer))
                eta.append(cell_eta)
                phi.append(cell_phi)
                radius.append(r)
                next_id += 1
    return {
        "cell_geo_ID": np.array(ids, dtype=np.uint64),
        "cell_geo_sampling": np.array(sampling, dtype=np.uint16),
        "cell_geo_eta": np.array(eta),
        "cell_geo_phi": np.array(phi),
        "cell_geo_rPerp": np.array(radius),
        "cell_geo_sigma": np.full(len(ids), 20.0),
    }


def _event(rng: np.random.Generator, geometry: dict[str, np.ndarray], number: int) -> dict:
    particles = [
        # (pdg, energy GeV, eta, phi, profile)
        (211, rng.uniform(3.0, 15.0), *rng.uniform(-PARTICLE_SPREAD, PARTICLE_SPREAD, 2), PION_PROFILE),
        (-211, rng.uniform(3.0, 15.0), *rng.uniform(-PARTICLE_SPREAD, PARTICLE_SPREAD, 2), PION_PROFILE),
        (22, rng.uniform(1.0, 8.0), *rng.uniform(-PARTICLE_SPREAD, PARTICLE_SPREAD, 2), PHOTON_PROFILE),
    ]
    layer_of_cell = geometry["cell_geo_sampling"].astype(int)
    deposits = np.zeros((len(particles), layer_of_cell.size))
    for index, (_, energy, eta, phi, profile) in enumerate(particles):
        for layer, share in zip(LAYERS, profile):
            in_layer = layer_of_cell == int(layer)
            distance2 = (geometry["cell_geo_eta"][in_layer] - eta) ** 2 + (geometry["cell_geo_phi"][in_layer] - phi) ** 2
            shape = np.exp(-0.5 * distance2 / SHOWER_WIDTH**2)
            deposits[index, in_layer] = energy * share * shape / shape.sum()

    kept = np.flatnonzero(deposits.sum(axis=0) > MIN_CELL_TRUTH_GEV)
    truth_index, truth_energy = [], []
    for cell in kept:
        contributors = np.flatnonzero(deposits[:, cell] > 0.0)
        truth_index.append(contributors.tolist())
        truth_energy.append((deposits[contributors, cell] * 1000.0).tolist())  # MeV
    cell_energy = 0.8 * deposits[:, kept].sum(axis=0) + rng.normal(0.0, 0.01, kept.size)

    tracks = []
    for index in (0, 1):
        _, energy, eta, phi, _ = particles[index]
        tracks.append({"pt": energy / np.cosh(eta), "eta": eta, "phi": phi, "truth": index})
    return {
        "number": number,
        "tracks": tracks,
        "cells": (geometry["cell_geo_ID"][kept].tolist(), cell_energy.tolist(), truth_index, truth_energy),
        "pdg": [pdg for pdg, *_ in particles],
        "energy": [energy for _, energy, *_ in particles],
    }


def write_random_events(path: Path, num_events: int, seed: int = 0) -> Path:
    """Write ``num_events`` random two-pion events (see the module docstring) to ``path``."""
    rng = np.random.default_rng(seed)
    geometry = _cell_geometry()
    events = [_event(rng, geometry, number) for number in range(num_events)]
    branches: dict[str, list] = {
        "eventNumber": [e["number"] for e in events],
        "trackPt": [[t["pt"] for t in e["tracks"]] for e in events],
        "trackEta": [[t["eta"] for t in e["tracks"]] for e in events],
        "trackPhi": [[t["phi"] for t in e["tracks"]] for e in events],
        "trackTruthParticleIndex": [[t["truth"] for t in e["tracks"]] for e in events],
        "truthPartPdgId": [e["pdg"] for e in events],
        "truthPartE": [e["energy"] for e in events],
        # One cluster per event holding every kept cell.
        "cluster_cell_ID": [[e["cells"][0]] for e in events],
        "cluster_cell_E": [[e["cells"][1]] for e in events],
        "cluster_cell_hitsTruthIndex": [[e["cells"][2]] for e in events],
        "cluster_cell_hitsTruthE": [[e["cells"][3]] for e in events],
    }
    for layer in EXTRAPOLATION_LAYERS:
        crossed = layer in LAYERS
        branches[f"trackEta_{layer.name}"] = [[t["eta"] if crossed else SENTINEL for t in e["tracks"]] for e in events]
        branches[f"trackPhi_{layer.name}"] = [[t["phi"] if crossed else SENTINEL for t in e["tracks"]] for e in events]
    return write_mltree(path, branches, geometry)
