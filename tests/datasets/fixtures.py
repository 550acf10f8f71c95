"""Small hand-built MLTree files for the dataset tests.

``write_two_event_file`` writes the two events described below; the tests
derive every expected value from the numbers in this file.

Event 0 (eventNumber 100), truth particles: 0 pi+, 1 photon, 2 pi+, 3 neutron.

====== ===== ===== ===== ======= ================= ==================
track  pt    truth EMB1  EMB2    other layers      role
====== ===== ===== ===== ======= ================= ==================
0      10.0  0     (0.5, 0.0) (0.5, 0.0) none      focus, cloud 0
1      4.0   2     none  (0.6, 0.1)  none          focus, cloud 1
2      3.0   -1    none  (0.5, 0.05) none          unmatched: skipped, still an "other track"
3      2.0   2     none  none    none              no intersection: skipped
====== ===== ===== ===== ======= ================= ==================

Cells (sampling, eta, phi, energy GeV, truth contributions in MeV), in
clusters [A, B, F] and [C, E, D]:

A  EMB2  0.50  0.00  2.0   (0, 3000)
B  EMB2  0.55  0.05  0.5   (0, 400) (1, 600)
F  EMB2  0.52  0.02  0.05  none
C  EMB3  0.45 -0.10  0.3   (0, 200) (2, 100) (3, 100)
E  EMB2  0.62  0.12  0.8   (2, 900) (0, 100)
D  EMB2  0.90  0.00  0.4   (1, 500)

Event 1 (eventNumber 101), truth: 0 pi-. Track 0 (pt 5, truth 0, EMB2 at
(-0.3, 2.0)) owns cell G (EMB2, -0.3, 2.0, 1.0 GeV, (0, 1000)); track 1 (pt 1,
truth 0, EMB2 at (-1.0, -2.0)) has no cell in its cone and is skipped with
min_cells = 1.

Every cell has rPerp 1700 mm and noise 50 MeV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pflow_geo.geometry import EXTRAPOLATION_LAYERS
from pflow_geo.io.writer import write_mltree

SENTINEL = -999999999.0
CELL_R_MM = 1700.0
NOISE_MEV = 50.0

CELLS = {
    # name: (id, sampling, eta, phi)
    "A": (11, 2, 0.50, 0.00),
    "B": (12, 2, 0.55, 0.05),
    "F": (16, 2, 0.52, 0.02),
    "C": (13, 3, 0.45, -0.10),
    "E": (15, 2, 0.62, 0.12),
    "D": (14, 2, 0.90, 0.00),
    "G": (17, 2, -0.30, 2.00),
}
CELL_ENERGY = {"A": 2.0, "B": 0.5, "F": 0.05, "C": 0.3, "E": 0.8, "D": 0.4, "G": 1.0}
CELL_TRUTH = {
    "A": [(0, 3000.0)],
    "B": [(0, 400.0), (1, 600.0)],
    "F": [],
    "C": [(0, 200.0), (2, 100.0), (3, 100.0)],
    "E": [(2, 900.0), (0, 100.0)],
    "D": [(1, 500.0)],
    "G": [(0, 1000.0)],
}
EVENTS = [
    {
        "event_number": 100,
        "pdg": [211, 22, 211, 2112],
        "tracks": [
            {"pt": 10.0, "truth": 0, "layers": {"EMB1": (0.5, 0.0), "EMB2": (0.5, 0.0)}},
            {"pt": 4.0, "truth": 2, "layers": {"EMB2": (0.6, 0.1)}},
            {"pt": 3.0, "truth": -1, "layers": {"EMB2": (0.5, 0.05)}},
            {"pt": 2.0, "truth": 2, "layers": {}},
        ],
        "clusters": [["A", "B", "F"], ["C", "E", "D"]],
    },
    {
        "event_number": 101,
        "pdg": [-211],
        "tracks": [
            {"pt": 5.0, "truth": 0, "layers": {"EMB2": (-0.3, 2.0)}},
            {"pt": 1.0, "truth": 0, "layers": {"EMB2": (-1.0, -2.0)}},
        ],
        "clusters": [["G"]],
    },
]


def cell_geo_columns() -> dict:
    names = list(CELLS)
    return {
        "cell_geo_ID": np.array([CELLS[n][0] for n in names], dtype=np.uint64),
        "cell_geo_sampling": np.array([CELLS[n][1] for n in names], dtype=np.uint16),
        "cell_geo_eta": np.array([CELLS[n][2] for n in names]),
        "cell_geo_phi": np.array([CELLS[n][3] for n in names]),
        "cell_geo_rPerp": np.full(len(names), CELL_R_MM),
        "cell_geo_sigma": np.full(len(names), NOISE_MEV),
    }


def event_columns(events: list[dict]) -> dict:
    columns: dict[str, list] = {
        "eventNumber": [e["event_number"] for e in events],
        "trackPt": [[t["pt"] for t in e["tracks"]] for e in events],
        "trackEta": [[next(iter(t["layers"].values()), (0.0, 0.0))[0] for t in e["tracks"]] for e in events],
        "trackPhi": [[next(iter(t["layers"].values()), (0.0, 0.0))[1] for t in e["tracks"]] for e in events],
        "trackTruthParticleIndex": [[t["truth"] for t in e["tracks"]] for e in events],
        "truthPartPdgId": [e["pdg"] for e in events],
        "cluster_cell_ID": [[[CELLS[c][0] for c in cluster] for cluster in e["clusters"]] for e in events],
        "cluster_cell_E": [[[CELL_ENERGY[c] for c in cluster] for cluster in e["clusters"]] for e in events],
        "cluster_cell_hitsTruthIndex": [[[[i for i, _ in CELL_TRUTH[c]] for c in cluster] for cluster in e["clusters"]] for e in events],
        "cluster_cell_hitsTruthE": [[[[float(v) for _, v in CELL_TRUTH[c]] for c in cluster] for cluster in e["clusters"]] for e in events],
    }
    for layer in EXTRAPOLATION_LAYERS:
        columns[f"trackEta_{layer.name}"] = [[t["layers"].get(layer.name, (SENTINEL, SENTINEL))[0] for t in e["tracks"]] for e in events]
        columns[f"trackPhi_{layer.name}"] = [[t["layers"].get(layer.name, (SENTINEL, SENTINEL))[1] for t in e["tracks"]] for e in events]
    return columns


def write_two_event_file(path: Path) -> Path:
    """Write the two events of this module's docstring to ``path``."""
    return write_mltree(path, event_columns(EVENTS), cell_geo_columns())


def write_many_events(path: Path, num_events: int, first_event_number: int = 0) -> Path:
    """Write ``num_events`` copies of event 0 with consecutive event numbers."""
    events = [dict(EVENTS[0], event_number=first_event_number + i) for i in range(num_events)]
    return write_mltree(path, event_columns(events), cell_geo_columns())
