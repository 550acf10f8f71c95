"""Tree and branch names of ATLAS MLTree files, grouped by what the reader needs them for.

The names follow the MLTree ``MLTreeMaker`` and ``CellGeometryTreeMaker``
output. Units as stored: energies and momenta in GeV except
``cluster_cell_hitsTruthE`` and ``cell_geo_sigma``, which are in MeV;
lengths in mm; angles in radians.
"""

from __future__ import annotations

from ..geometry import EXTRAPOLATION_LAYERS, TRACK_LAYERS

EVENT_TREE = "EventTree"
CELL_GEO_TREE = "CellGeo"

EVENT_NUMBER = "eventNumber"

# Per-track branches, one element per track. The reader checks that all of
# them have the same length in every event.
TRACK_KINEMATICS = ("trackPt", "trackEta", "trackPhi")
TRACK_TRUTH_INDEX = "trackTruthParticleIndex"
TRACK_OPTIONAL = ("trackP", "trackChiSquared", "trackNumberDOF", "trackD0", "trackZ0")


def layer_branches(layers=EXTRAPOLATION_LAYERS) -> list[str]:
    """Return the ``trackEta_<layer>`` and ``trackPhi_<layer>`` branch names, eta first."""
    return [f"trackEta_{layer.name}" for layer in layers] + [f"trackPhi_{layer.name}" for layer in layers]


REQUIRED_LAYER_BRANCHES = tuple(layer_branches(TRACK_LAYERS))
OPTIONAL_LAYER_BRANCHES = tuple(b for b in layer_branches() if b not in REQUIRED_LAYER_BRANCHES)

# Cells in clusters, [cluster][cell], and their truth, [cluster][cell][contributor].
CELL_ID = "cluster_cell_ID"
CELL_ENERGY = "cluster_cell_E"
CELL_TRUTH_INDEX = "cluster_cell_hitsTruthIndex"
CELL_TRUTH_ENERGY = "cluster_cell_hitsTruthE"
CLUSTER_NUM_CELLS = "cluster_nCells"

# Truth particles, one element per particle.
TRUTH_PDG_ID = "truthPartPdgId"
TRUTH_OPTIONAL = ("truthPartPt", "truthPartE", "truthPartEta", "truthPartPhi", "truthPartMass", "truthPartStatus")
NUM_TRUTH = "nTruthPart"
NUM_TRACKS = "nTrack"

REQUIRED_EVENT_BRANCHES: tuple[str, ...] = (
    EVENT_NUMBER,
    *TRACK_KINEMATICS,
    TRACK_TRUTH_INDEX,
    *REQUIRED_LAYER_BRANCHES,
    CELL_ID,
    CELL_ENERGY,
    CELL_TRUTH_INDEX,
    CELL_TRUTH_ENERGY,
    TRUTH_PDG_ID,
)
OPTIONAL_EVENT_BRANCHES: tuple[str, ...] = (
    NUM_TRACKS,
    NUM_TRUTH,
    CLUSTER_NUM_CELLS,
    *TRACK_OPTIONAL,
    *OPTIONAL_LAYER_BRANCHES,
    *TRUTH_OPTIONAL,
)

# CellGeo: one entry, every branch a vector over all calorimeter cells.
GEO_ID = "cell_geo_ID"
GEO_SAMPLING = "cell_geo_sampling"
GEO_ETA = "cell_geo_eta"
GEO_PHI = "cell_geo_phi"
GEO_RPERP = "cell_geo_rPerp"
GEO_XYZ = ("cell_geo_X", "cell_geo_Y", "cell_geo_Z")
# Electronic noise in MeV; some productions name it cell_geo_electronicNoise.
GEO_NOISE = ("cell_geo_sigma", "cell_geo_electronicNoise")
GEO_OPTIONAL = ("cell_geo_deta", "cell_geo_dphi", "cell_geo_volume")
GEO_NEIGHBOURS = (
    "cell_geo_prevInPhi",
    "cell_geo_nextInPhi",
    "cell_geo_prevInEta",
    "cell_geo_nextInEta",
    "cell_geo_prevInSamp",
    "cell_geo_nextInSamp",
    "cell_geo_prevSubDet",
    "cell_geo_nextSubDet",
    "cell_geo_prevSuperCalo",
    "cell_geo_nextSuperCalo",
)
REQUIRED_GEO_BRANCHES: tuple[str, ...] = (GEO_ID, GEO_SAMPLING, GEO_ETA, GEO_PHI)
# Besides these, the cell position needs GEO_RPERP or all of GEO_XYZ.
OPTIONAL_GEO_BRANCHES: tuple[str, ...] = (GEO_RPERP, *GEO_XYZ, *GEO_NOISE, *GEO_OPTIONAL, *GEO_NEIGHBOURS)

# trackTruthParticleIndex was vector<unsigned int> before 2024-01, where
# "no match" was written as 2**32 - 1.
UNSIGNED_UNMATCHED = 4294967295
