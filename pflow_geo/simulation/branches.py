"""Assembly of simulated events into MLTree ``EventTree`` branches.

Names, nesting, types and units follow MLTree master: energies and momenta in
GeV except ``cluster_cell_hitsTruthE`` (MeV), ``cluster_cell_ID`` uint64,
counts and indices int32, other floats float32, ``eventNumber`` int64. A
layer a track does not cross has the value -999999999 (float32 -1e9).
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..geometry import EXTRAPOLATION_LAYERS
from .event import EventRecord
from .particles import PROCESSES
from .tracking import SENTINEL

__all__ = ["assemble_branches", "CHANNEL_NUMBERS"]

# mcChannelNumber per process. These are simulator codes, not ATLAS dataset ids.
CHANNEL_NUMBERS = {process: 990001 + index for index, process in enumerate(PROCESSES)}
# MLTree's trackMass is the pion mass hypothesis of the fit.
_TRACK_MASS_GEV = 0.13957
_F32, _I32 = np.float32, np.int32


def _jagged(parts: list[np.ndarray], dtype) -> ak.Array:
    """Return a ``var * dtype`` array from one numpy array per event."""
    counts = np.array([len(part) for part in parts], np.int64)
    flat = np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
    return ak.unflatten(flat, counts)


def _nested(flat: np.ndarray, *counts: np.ndarray) -> ak.Array:
    """Nest a flat array by counts, innermost level first."""
    array = ak.Array(flat)
    for level in counts:
        array = ak.unflatten(array, level)
    return array


def _truth_branches(records: list[EventRecord]) -> dict[str, ak.Array]:
    truths = [record.truth for record in records]
    return {
        "truthPartPdgId": _jagged([t.pdg_id for t in truths], _I32),
        "truthPartStatus": _jagged([t.status for t in truths], _I32),
        "truthPartBarcode": _jagged([10001 + np.arange(len(t)) for t in truths], _I32),
        "truthPartPt": _jagged([t.pt for t in truths], _F32),
        "truthPartE": _jagged([t.momentum[:, 0] for t in truths], _F32),
        "truthPartEta": _jagged([t.eta for t in truths], _F32),
        "truthPartPhi": _jagged([t.phi for t in truths], _F32),
        "truthPartMass": _jagged([t.mass for t in truths], _F32),
    }


def _track_branches(records: list[EventRecord]) -> dict[str, ak.Array]:
    tracks = [record.tracks for record in records]
    branches = {
        "trackPt": _jagged([t["pt"] for t in tracks], _F32),
        "trackP": _jagged([t["p"] for t in tracks], _F32),
        "trackMass": _jagged([np.full(len(t["pt"]), _TRACK_MASS_GEV) for t in tracks], _F32),
        "trackEta": _jagged([t["eta"] for t in tracks], _F32),
        "trackPhi": _jagged([t["phi"] for t in tracks], _F32),
        "trackTruthParticleIndex": _jagged([t["truth_index"] for t in tracks], _I32),
        "trackChiSquared": _jagged([t["chi2"] for t in tracks], _F32),
        "trackNumberDOF": _jagged([t["ndof"] for t in tracks], _I32),
        "trackD0": _jagged([t["d0"] for t in tracks], _F32),
        "trackZ0": _jagged([t["z0"] for t in tracks], _F32),
    }
    for column, layer in enumerate(EXTRAPOLATION_LAYERS):
        for name, key in (("trackEta", "layer_eta"), ("trackPhi", "layer_phi")):
            values = [np.nan_to_num(t[key][:, column], nan=SENTINEL) for t in tracks]
            branches[f"{name}_{layer.name}"] = _jagged(values, _F32)
    return branches


def _cluster_branches(records: list[EventRecord]) -> dict[str, ak.Array]:
    clusters = [record.clusters for record in records]
    per_event = np.array([len(c["energy"]) for c in clusters], np.int64)
    cells_per_cluster = np.concatenate([c["num_kept"] for c in clusters]).astype(np.int64)
    lists_per_cluster = np.concatenate([c["num_lists"] for c in clusters]).astype(np.int64)
    contributors = np.concatenate([c["truth_count"] for c in clusters]).astype(np.int64)
    concat = lambda key, dtype: np.concatenate([c[key] for c in clusters]).astype(dtype)  # noqa: E731
    return {
        "nCluster": per_event.astype(_I32),
        "cluster_E": _jagged([c["energy"] for c in clusters], _F32),
        "cluster_Pt": _jagged([c["pt"] for c in clusters], _F32),
        "cluster_Eta": _jagged([c["eta"] for c in clusters], _F32),
        "cluster_Phi": _jagged([c["phi"] for c in clusters], _F32),
        "cluster_nCells": _jagged([c["num_cells"] for c in clusters], _I32),
        "cluster_cell_ID": _nested(concat("cell_id", np.uint64), cells_per_cluster, per_event),
        "cluster_cell_E": _nested(concat("cell_energy", _F32), cells_per_cluster, per_event),
        "cluster_cell_hitsTruthIndex": _nested(concat("truth_index", _I32), contributors, lists_per_cluster, per_event),
        # Calibration-hit energies stay in MeV, as MLTree writes them.
        "cluster_cell_hitsTruthE": _nested((concat("truth_energy", np.float64) * 1e3).astype(_F32), contributors, lists_per_cluster, per_event),
    }


def assemble_branches(records: list[EventRecord], process: str, run_number: int) -> dict[str, ak.Array | np.ndarray]:
    """Return the ``EventTree`` branches of a list of events, one entry per event, in order."""
    num = len(records)
    event_number = np.array([record.event_number + 1 for record in records], np.int64)
    branches: dict[str, ak.Array | np.ndarray] = {
        "runNumber": np.full(num, run_number, _I32),
        "eventNumber": event_number,
        "lumiBlock": np.ones(num, _I32),
        "mcEventNumber": event_number.astype(_I32),
        "mcChannelNumber": np.full(num, CHANNEL_NUMBERS[process], _I32),
        "mcEventWeight": np.ones(num, _F32),
        "nTruthPart": np.array([len(r.truth) for r in records], _I32),
        "nTrack": np.array([len(r.tracks["pt"]) for r in records], _I32),
        "truthVertexX": np.zeros(num, _F32),
        "truthVertexY": np.zeros(num, _F32),
        "truthVertexZ": np.zeros(num, _F32),
    }
    branches.update(_truth_branches(records))
    branches.update(_track_branches(records))
    branches.update(_cluster_branches(records))
    return branches
