"""Tiny MLTree files with hand-computed contents, written with uproot for the io tests.

Events are described with :func:`track`, :func:`cluster` and :func:`event`,
turned into branches by :func:`event_branches` and written by
:func:`write_events` (RNTuple, through ``pflow_geo.io.writer.write_mltree``)
or :func:`write_ttrees` (TTree, flat and singly jagged branches only).

The standard geometry :data:`GEO_CELLS` uses eta = ±ln 2 and ln 4, where
sinh(eta) = ±0.75 and 1.875, so that every cell position is a round number
of mm.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from pflow_geo.geometry import EXTRAPOLATION_LAYERS, Sampling
from pflow_geo.io.writer import write_mltree

LN2 = math.log(2.0)
LN4 = math.log(4.0)
SENTINEL = -999999999.0  # MLTree's "no intersection" value, stored as float32 -1e9


@dataclass(frozen=True)
class GeoCell:
    """One CellGeo row and the position the reader must compute for it.

    Attributes:
        id: Compact cell identifier.
        sampling: ATLAS sampling id.
        eta: Pseudorapidity of the cell centre.
        phi: Azimuth in radians.
        r: Transverse radius in mm.
        noise_mev: Noise sigma in MeV, as stored in ``cell_geo_sigma``.
        xyz: Expected cell centre (x, y, z) in mm.
    """

    id: int
    sampling: int
    eta: float
    phi: float
    r: float
    noise_mev: float
    xyz: tuple[float, float, float]


GEO_CELLS: tuple[GeoCell, ...] = (
    GeoCell(101, Sampling.EMB1, 0.0, 0.0, 1500.0, 10.0, (1500.0, 0.0, 0.0)),
    GeoCell(102, Sampling.EMB2, LN2, math.pi / 2, 2000.0, 20.0, (0.0, 2000.0, 1500.0)),
    GeoCell(103, Sampling.EME2, -LN2, math.pi, 400.0, 50.0, (-400.0, 0.0, -300.0)),
    GeoCell(104, Sampling.TileBar0, 0.0, -math.pi / 2, 2450.0, 30.0, (0.0, -2450.0, 0.0)),
    GeoCell(105, Sampling.HEC0, LN4, 0.0, 800.0, 150.0, (800.0, 0.0, 1500.0)),
)
GEO_BY_ID = {cell.id: cell for cell in GEO_CELLS}


def cell_geo_branches(cells: Sequence[GeoCell] = GEO_CELLS, *, noise: bool = True) -> dict[str, np.ndarray]:
    """Return the CellGeo branches (one array over all cells) for ``cells``."""
    branches = {
        "cell_geo_ID": np.array([cell.id for cell in cells], dtype=np.uint64),
        "cell_geo_sampling": np.array([cell.sampling for cell in cells], dtype=np.uint16),
        "cell_geo_eta": np.array([cell.eta for cell in cells], dtype=np.float32),
        "cell_geo_phi": np.array([cell.phi for cell in cells], dtype=np.float32),
        "cell_geo_rPerp": np.array([cell.r for cell in cells], dtype=np.float32),
    }
    if noise:
        branches["cell_geo_sigma"] = np.array([cell.noise_mev for cell in cells], dtype=np.float32)
    return branches


def track(
    pt: float,
    eta: float,
    phi: float,
    truth_index: int = 0,
    layers: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Describe one track; every layer not in ``layers`` is crossed at the track's own (eta, phi)."""
    crossings = {layer.name: (eta, phi) for layer in EXTRAPOLATION_LAYERS}
    crossings.update(layers or {})
    return {"pt": pt, "eta": eta, "phi": phi, "truth_index": truth_index, "layers": crossings}


def cluster(
    ids: Sequence[int],
    energies: Sequence[float],
    truth_index: Sequence[Sequence[int]],
    truth_energy_mev: Sequence[Sequence[float]],
) -> dict[str, Any]:
    """Describe one cluster: its kept cells (energies in GeV) and per-cell truth (energies in MeV)."""
    return {
        "ids": list(ids),
        "energies": list(energies),
        "truth_index": [list(k) for k in truth_index],
        "truth_energy": [list(e) for e in truth_energy_mev],
    }


def event(
    number: int,
    tracks: Sequence[dict[str, Any]] = (),
    clusters: Sequence[dict[str, Any]] = (),
    truth_pdg: Sequence[int] = (211,),
    truth_energy: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Describe one event; truth energies are in GeV and default to 1 GeV per particle."""
    if truth_energy is None:
        truth_energy = [1.0] * len(truth_pdg)
    return {
        "number": number,
        "tracks": list(tracks),
        "clusters": list(clusters),
        "truth_pdg": list(truth_pdg),
        "truth_energy": list(truth_energy),
    }


def event_branches(events: Sequence[dict[str, Any]]) -> dict[str, list]:
    """Return the EventTree branches, as nested lists with one entry per event."""
    branches: dict[str, list] = {
        "eventNumber": [e["number"] for e in events],
        "trackPt": [[t["pt"] for t in e["tracks"]] for e in events],
        "trackEta": [[t["eta"] for t in e["tracks"]] for e in events],
        "trackPhi": [[t["phi"] for t in e["tracks"]] for e in events],
        "trackTruthParticleIndex": [[t["truth_index"] for t in e["tracks"]] for e in events],
    }
    for layer in EXTRAPOLATION_LAYERS:
        branches[f"trackEta_{layer.name}"] = [[t["layers"][layer.name][0] for t in e["tracks"]] for e in events]
        branches[f"trackPhi_{layer.name}"] = [[t["layers"][layer.name][1] for t in e["tracks"]] for e in events]
    branches["cluster_cell_ID"] = [[c["ids"] for c in e["clusters"]] for e in events]
    branches["cluster_cell_E"] = [[c["energies"] for c in e["clusters"]] for e in events]
    branches["cluster_cell_hitsTruthIndex"] = [[c["truth_index"] for c in e["clusters"]] for e in events]
    branches["cluster_cell_hitsTruthE"] = [[c["truth_energy"] for c in e["clusters"]] for e in events]
    branches["truthPartPdgId"] = [e["truth_pdg"] for e in events]
    branches["truthPartE"] = [e["truth_energy"] for e in events]
    return branches


def write_events(
    path: Path,
    events: Sequence[dict[str, Any]] | Mapping[str, list] | None,
    cells: Sequence[GeoCell] | Mapping[str, Any] | None = GEO_CELLS,
    *,
    dtypes: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``EventTree`` and ``CellGeo`` as RNTuples into one file and return its path.

    ``events`` is a list of :func:`event` descriptions or ready branches;
    ``cells`` is a list of :class:`GeoCell` or ready CellGeo branches. None
    leaves the tree out.
    """
    if events is not None and not isinstance(events, Mapping):
        events = event_branches(events)
    if cells is not None and not isinstance(cells, Mapping):
        cells = cell_geo_branches(cells)
    return write_mltree(path, events, cells, dtypes=dtypes)


def write_ttrees(path: Path, trees: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write each tree of ``trees`` as a TTree with ``mktree`` and return the path.

    Each value maps branch names to arrays with one entry per tree entry;
    uproot writes flat and singly jagged branches (with an ``n<branch>``
    counter branch each), not deeper nesting.
    """
    with uproot.recreate(path) as file:
        for name, branches in trees.items():
            arrays = {branch: ak.Array(values) for branch, values in branches.items()}
            file.mktree(name, {branch: array.type.content for branch, array in arrays.items()})
            file[name].extend(arrays)
    return path


def cell_geo_ttree_branches(cells: Sequence[GeoCell] = GEO_CELLS) -> dict[str, ak.Array]:
    """Return CellGeo branches shaped as a one-entry TTree (each branch a list of one vector)."""
    return {name: ak.Array([values]) for name, values in cell_geo_branches(cells).items()}


def many_cell_event(
    number: int,
    num_cells: int,
    *,
    first_id: int = 1000,
    cell_energy: float = 1.0,
    truth_energy: float = 1000.0,
) -> dict[str, Any]:
    """Describe an event with one track and ``num_cells`` cells in one cluster, for the unit checks.

    Every cell has energy ``cell_energy`` and one truth contribution of
    ``truth_energy`` from particle 0, both as written to the file.
    """
    ids = list(range(first_id, first_id + num_cells))
    return event(
        number,
        tracks=[track(10.0, 0.1, 0.1)],
        clusters=[cluster(ids, [cell_energy] * num_cells, [[0]] * num_cells, [[truth_energy]] * num_cells)],
    )


def grid_cells(num_cells: int, *, first_id: int = 1000, noise_mev: float = 20.0) -> list[GeoCell]:
    """Return ``num_cells`` EMB2 cells at eta 0 and increasing phi, with IDs from ``first_id``."""
    return [
        GeoCell(first_id + i, Sampling.EMB2, 0.0, 0.01 * i, 1723.89, noise_mev, (1723.89 * math.cos(0.01 * i), 1723.89 * math.sin(0.01 * i), 0.0))
        for i in range(num_cells)
    ]
