"""Columnar builder of per-track point clouds from a chunk of MLTree events.

For every focus track of every event, a cloud gathers the points within
``delta_r`` of the track's reference direction: the focus track's own layer
intersections (category 0), the calorimeter cells (category 1) and the layer
intersections of the other tracks (category 2). Everything runs on flat numpy
arrays over the whole chunk; there is no Python loop over events, tracks or
cells. Points of a cloud are ordered focus-track points (by layer), then cells
(in reader order), then other-track points (by track, then layer).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import awkward as ak
import numpy as np

from ..geometry import EXTRAPOLATION_LAYERS, TRACK_LAYERS, Sampling, delta_phi, layer_intersections
from ..io.reader import EventChunk
from ..pdg import charge
from .fields import BASE_FEATURES, CELL_ENERGY_SCALE_GEV, OPTIONAL_FEATURES, TRACK_PT_SCALE_GEV, Category

__all__ = ["CloudConfig", "CloudBlock", "build_clouds", "REFERENCE_LAYERS", "SKIP_REASONS"]

# The reference direction of a track is its intersection with the first
# crossed layer of this list: the EM middle layers first, then the layers
# nearest to them in depth.
REFERENCE_LAYERS: tuple[Sampling, ...] = (
    Sampling.EMB2,
    Sampling.EME2,
    Sampling.EMB1,
    Sampling.EMB3,
    Sampling.EME1,
    Sampling.EME3,
    Sampling.TileBar0,
    Sampling.TileGap3,
    Sampling.TileExt0,
    Sampling.HEC0,
    Sampling.TileGap1,
    Sampling.TileBar1,
    Sampling.TileExt1,
    Sampling.HEC1,
    Sampling.TileGap2,
    Sampling.TileBar2,
    Sampling.TileExt2,
    Sampling.HEC2,
    Sampling.HEC3,
)
assert set(REFERENCE_LAYERS) == set(TRACK_LAYERS)

# Reasons for skipping a track, as format strings over the CloudConfig fields.
SKIP_REASONS = {
    "no_truth_match": "tracks with no truth match",
    "no_intersection": "tracks with no valid layer intersection",
    "too_few_cells": "tracks with fewer than {min_cells} cell(s) in the cone",
}

# Column of each track layer in the reader's [21] layer arrays (sampling-id order).
_TRACK_COLUMNS = np.array([EXTRAPOLATION_LAYERS.index(layer) for layer in TRACK_LAYERS])
_REFERENCE_POSITION = np.array([TRACK_LAYERS.index(layer) for layer in REFERENCE_LAYERS])
_TRACK_LAYER_IDS = np.array([int(layer) for layer in TRACK_LAYERS], dtype=np.int64)


@dataclass(frozen=True)
class CloudConfig:
    """Options that change the content of the point clouds.

    Attributes:
        delta_r: Cone size around the focus track's reference direction.
        features: Optional feature columns added after ``BASE_FEATURES``, by
            name from ``OPTIONAL_FEATURES``.
        min_cells: Tracks with fewer cells in the cone are skipped.
    """

    delta_r: float = 0.2
    features: tuple[str, ...] = ()
    min_cells: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        unknown = [name for name in self.features if name not in OPTIONAL_FEATURES]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; choose from {list(OPTIONAL_FEATURES)}")
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"features must not repeat, got {list(self.features)}")
        if not 0.0 < self.delta_r <= 1.0:
            raise ValueError(f"delta_r must be in (0, 1], got {self.delta_r}")
        if self.min_cells < 0:
            raise ValueError(f"min_cells must be >= 0, got {self.min_cells}")

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the columns of ``data.x``, in order."""
        return BASE_FEATURES + self.features

    def to_dict(self) -> dict:
        """Return the options as a JSON-serialisable dictionary."""
        values = asdict(self)
        values["features"] = list(self.features)
        return values


@dataclass
class CloudBlock:
    """Clouds of one chunk as flat columns.

    Attributes:
        points: Per-point columns, each with ``num_points`` rows; the points of
            cloud ``i`` are rows ``ptr[i]:ptr[i + 1]``.
        clouds: Per-cloud columns, each with ``num_clouds`` rows.
        ptr: int64 offsets ``[num_clouds + 1]``.
        skipped: Tracks skipped, by key of ``SKIP_REASONS``.
        cells_without_truth: Cell points whose truth energy is not positive
            (labelled 0, all fractions 0).
        tracks_seen: Tracks considered as focus tracks.
    """

    points: dict[str, np.ndarray]
    clouds: dict[str, np.ndarray]
    ptr: np.ndarray
    skipped: Counter = field(default_factory=Counter)
    cells_without_truth: int = 0
    tracks_seen: int = 0

    @property
    def num_clouds(self) -> int:
        return len(self.ptr) - 1


def _ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand ranges ``[starts[i], starts[i] + counts[i])`` into (owner i, value) pairs."""
    owner = np.repeat(np.arange(len(counts)), counts)
    offsets = np.cumsum(counts) - counts
    values = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(offsets, counts) + np.repeat(starts, counts)
    return owner, values


def _scaled_energy(values: np.ndarray, scale: float) -> np.ndarray:
    return (np.sign(values) * np.log1p(np.abs(values) / scale)).astype(np.float32)


def build_clouds(chunk: EventChunk, config: CloudConfig) -> CloudBlock:
    """Build the point cloud of every selected focus track in ``chunk``.

    Args:
        chunk: Events from :class:`pflow_geo.io.MLTreeReader`.
        config: Cone size, optional features and selection.

    Returns:
        The clouds as flat columns; see :mod:`pflow_geo.datasets.fields` for
        the meaning of each column.
    """
    tracks = _flatten_tracks(chunk)
    cells = _flatten_cells(chunk)
    block = CloudBlock(points={}, clouds={}, ptr=np.zeros(1, dtype=np.int64))
    block.tracks_seen = len(tracks["pt"])

    # Focus-track selection, each track counted under its first failing reason.
    matched = tracks["truth_index"] >= 0
    crossed = tracks["valid"].any(axis=1)
    block.skipped["no_truth_match"] += int((~matched).sum())
    block.skipped["no_intersection"] += int((matched & ~crossed).sum())
    focus = np.flatnonzero(matched & crossed)

    ref_slot = np.argmax(tracks["valid"][focus][:, _REFERENCE_POSITION], axis=1)
    ref_column = _REFERENCE_POSITION[ref_slot]
    ref_eta = tracks["eta_layers"][focus, ref_column].astype(np.float64)
    ref_phi = tracks["phi_layers"][focus, ref_column].astype(np.float64)
    focus_event = tracks["event"][focus]

    pair_focus, pair_cell, pair_dr = _cells_in_cones(cells, focus_event, ref_eta, ref_phi, config.delta_r)
    cells_per_focus = np.bincount(pair_focus, minlength=len(focus))
    enough = cells_per_focus >= config.min_cells
    block.skipped["too_few_cells"] += int((~enough).sum())

    # Keep the selected focus tracks; renumber them as clouds 0..n-1.
    cloud_of_focus = np.cumsum(enough) - 1
    keep_pair = enough[pair_focus]
    pair_cloud = cloud_of_focus[pair_focus[keep_pair]]
    pair_cell = pair_cell[keep_pair]
    pair_dr = pair_dr[keep_pair]
    focus = focus[enough]
    ref_eta, ref_phi, focus_event = ref_eta[enough], ref_phi[enough], focus_event[enough]
    num_clouds = len(focus)

    labels = _cell_labels(chunk, cells, pair_cloud, pair_cell, tracks["truth_index"][focus], focus_event)
    block.cells_without_truth = labels.pop("without_truth")

    track_points = _track_points(tracks, focus, focus_event, ref_eta, ref_phi, config.delta_r)
    parts = _assemble(cells, pair_cloud, pair_cell, pair_dr, labels, track_points, tracks)

    order = np.lexsort((parts["order"], parts["category_rank"], parts["cloud"]))
    parts = {name: values[order] for name, values in parts.items()}
    counts = np.bincount(parts["cloud"], minlength=num_clouds)
    block.ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    distance = _distance_to_focus(parts["pos"], parts["cloud"], tracks["xyz"][focus], tracks["valid"][focus])
    d_eta = (parts["eta"] - ref_eta[parts["cloud"]]).astype(np.float32)
    d_phi = delta_phi(parts["phi"], ref_phi[parts["cloud"]]).astype(np.float32)
    columns = {
        "x": parts["pos"][:, 0],
        "y": parts["pos"][:, 1],
        "z": parts["pos"][:, 2],
        "category": parts["category"].astype(np.float32),
        "energy": parts["energy_feature"],
        "distance": distance,
        "layer": parts["layer"].astype(np.float32),
        "delta_eta": d_eta,
        "delta_phi": d_phi,
        "significance": parts["significance"],
    }
    block.points = {
        "pos": parts["pos"].astype(np.float32),
        "x": np.stack([columns[name] for name in config.feature_names], axis=1).astype(np.float32),
        "category": parts["category"].astype(np.int8),
        "y": parts["label"].astype(np.float32),
        "weight": parts["weight"].astype(np.float32),
        "frac_focus": parts["frac_focus"].astype(np.float32),
        "frac_charged": parts["frac_charged"].astype(np.float32),
        "frac_neutral": parts["frac_neutral"].astype(np.float32),
        "cell_id": parts["cell_id"].astype(np.int64),
        "cluster": parts["cluster"].astype(np.int32),
        "layer": parts["layer"].astype(np.int8),
        "delta_r": parts["delta_r"].astype(np.float32),
    }
    event_of_cloud = focus_event
    block.clouds = {
        "event_number": chunk.event_number[event_of_cloud].astype(np.int64),
        "entry": chunk.entry[event_of_cloud].astype(np.int64),
        "track_index": tracks["index"][focus].astype(np.int64),
        "track_pt": tracks["pt"][focus].astype(np.float32),
        "track_eta": ref_eta.astype(np.float32),
        "track_phi": ref_phi.astype(np.float32),
        "focus_truth_energy": np.bincount(pair_cloud, weights=labels["focus_energy"], minlength=num_clouds).astype(np.float32),
    }
    return block


def _flatten_tracks(chunk: EventChunk) -> dict[str, np.ndarray]:
    tracks = chunk.tracks
    counts = ak.to_numpy(ak.num(tracks, axis=1))
    flat = ak.flatten(tracks, axis=1)
    eta_layers = ak.to_numpy(flat.layer_eta).reshape(-1, len(EXTRAPOLATION_LAYERS))[:, _TRACK_COLUMNS]
    phi_layers = ak.to_numpy(flat.layer_phi).reshape(-1, len(EXTRAPOLATION_LAYERS))[:, _TRACK_COLUMNS]
    valid = ~np.isnan(eta_layers)
    xyz = np.full(eta_layers.shape + (3,), np.nan, dtype=np.float32)
    for column, layer in enumerate(TRACK_LAYERS):
        x, y, z = layer_intersections(eta_layers[:, column].astype(np.float64), phi_layers[:, column].astype(np.float64), layer)
        xyz[:, column] = np.stack([x, y, z], axis=1)
    return {
        "event": np.repeat(np.arange(len(counts)), counts),
        "start": np.concatenate(([0], np.cumsum(counts)[:-1])) if len(counts) else np.zeros(0, dtype=np.int64),
        "count": counts,
        "index": ak.to_numpy(flat.index),
        "pt": ak.to_numpy(flat.pt).astype(np.float64),
        "eta": ak.to_numpy(flat.eta).astype(np.float64),
        "truth_index": ak.to_numpy(flat.truth_index),
        "eta_layers": eta_layers,
        "phi_layers": phi_layers,
        "valid": valid,
        "xyz": xyz,
    }


def _flatten_cells(chunk: EventChunk) -> dict[str, np.ndarray]:
    cells = chunk.cells
    counts = ak.to_numpy(ak.num(cells, axis=1))
    flat = ak.flatten(cells, axis=1)
    columns = {name: ak.to_numpy(flat[name]) for name in ("id", "energy", "cluster", "sampling", "eta", "phi", "x", "y", "z", "noise")}
    columns["event"] = np.repeat(np.arange(len(counts)), counts)
    columns["start"] = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64) if len(counts) else np.zeros(0, np.int64)
    columns["count"] = counts
    contributors = ak.to_numpy(ak.num(flat.truth_index, axis=1))
    columns["truth_ptr"] = np.concatenate(([0], np.cumsum(contributors))).astype(np.int64)
    columns["truth_index"] = ak.to_numpy(ak.flatten(flat.truth_index))
    columns["truth_energy"] = ak.to_numpy(ak.flatten(flat.truth_energy)).astype(np.float64)
    return columns


def _cells_in_cones(cells: dict, focus_event: np.ndarray, ref_eta: np.ndarray, ref_phi: np.ndarray, cone: float):
    """Return (focus, cell, delta_r) for every cell within ``cone`` of a focus track of the same event.

    Cells are sorted by (event, eta); each focus track only looks at the cells
    of its event inside the eta band ``ref_eta ± cone``, found by binary search.
    """
    # Events are separated by 100 units of eta, far more than any |eta| range.
    key = cells["event"] * 100.0 + cells["eta"].astype(np.float64)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    base = focus_event * 100.0 + ref_eta
    low = np.searchsorted(sorted_key, base - cone, side="left")
    high = np.searchsorted(sorted_key, base + cone, side="right")
    pair_focus, position = _ranges(low, high - low)
    pair_cell = order[position]

    d_eta = cells["eta"][pair_cell].astype(np.float64) - ref_eta[pair_focus]
    d_phi = delta_phi(cells["phi"][pair_cell].astype(np.float64), ref_phi[pair_focus])
    dr = np.sqrt(d_eta * d_eta + d_phi * d_phi)
    inside = dr < cone
    pair_focus, pair_cell, dr = pair_focus[inside], pair_cell[inside], dr[inside]
    # Reader order of cells within each cloud.
    resort = np.lexsort((pair_cell, pair_focus))
    return pair_focus[resort], pair_cell[resort], dr[resort]


def _cell_labels(chunk: EventChunk, cells: dict, pair_cloud: np.ndarray, pair_cell: np.ndarray, focus_truth: np.ndarray, focus_event: np.ndarray) -> dict:
    """Split each cone cell's truth energy into focus, other-charged and neutral shares."""
    pdg = chunk.truth.pdg_id
    truth_counts = ak.to_numpy(ak.num(pdg, axis=1))
    truth_start = np.concatenate(([0], np.cumsum(truth_counts)[:-1])).astype(np.int64) if len(truth_counts) else np.zeros(0, np.int64)
    truth_charge = charge(ak.to_numpy(ak.flatten(pdg)))

    contributors = np.diff(cells["truth_ptr"])
    pair_of_contribution, contribution = _ranges(cells["truth_ptr"][pair_cell], contributors[pair_cell])
    truth_index = cells["truth_index"][contribution]
    energy = cells["truth_energy"][contribution]
    cloud = pair_cloud[pair_of_contribution]
    event = focus_event[cloud]
    is_focus = truth_index == focus_truth[cloud]
    is_charged = truth_charge[truth_start[event] + truth_index] != 0

    num_pairs = len(pair_cell)
    total = np.bincount(pair_of_contribution, weights=energy, minlength=num_pairs)
    focus_energy = np.bincount(pair_of_contribution, weights=np.where(is_focus, energy, 0.0), minlength=num_pairs)
    charged = np.bincount(pair_of_contribution, weights=np.where(~is_focus & is_charged, energy, 0.0), minlength=num_pairs)
    neutral = np.bincount(pair_of_contribution, weights=np.where(~is_focus & ~is_charged, energy, 0.0), minlength=num_pairs)

    positive = total > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        frac_focus = np.where(positive, focus_energy / total, 0.0)
        frac_charged = np.where(positive, charged / total, 0.0)
        frac_neutral = np.where(positive, neutral / total, 0.0)
    return {
        "label": frac_focus > 0.5,
        "frac_focus": frac_focus,
        "frac_charged": frac_charged,
        "frac_neutral": frac_neutral,
        "focus_energy": focus_energy,
        "without_truth": int((~positive).sum()),
    }


def _track_points(tracks: dict, focus: np.ndarray, focus_event: np.ndarray, ref_eta: np.ndarray, ref_phi: np.ndarray, cone: float) -> dict:
    """Return the focus tracks' own intersections and the other tracks' intersections inside each cone."""
    num_layers = len(TRACK_LAYERS)

    # Every track of the focus track's event, the focus track included.
    pair_cloud, other = _ranges(tracks["start"][focus_event], tracks["count"][focus_event])
    is_focus = other == focus[pair_cloud]
    cloud = np.repeat(pair_cloud, num_layers)
    track = np.repeat(other, num_layers)
    own = np.repeat(is_focus, num_layers)
    column = np.tile(np.arange(num_layers), len(other))
    valid = tracks["valid"][track, column]

    eta = tracks["eta_layers"][track, column].astype(np.float64)
    phi = tracks["phi_layers"][track, column].astype(np.float64)
    with np.errstate(invalid="ignore"):
        d_eta = eta - ref_eta[cloud]
        d_phi = delta_phi(phi, ref_phi[cloud])
        dr = np.sqrt(d_eta * d_eta + d_phi * d_phi)
        keep = valid & (own | (dr < cone))
    return {
        "cloud": cloud[keep],
        "track": track[keep],
        "column": column[keep],
        "own": own[keep],
        "eta": eta[keep],
        "phi": phi[keep],
        "delta_r": dr[keep],
    }


def _assemble(cells: dict, pair_cloud, pair_cell, pair_dr, labels: dict, track_points: dict, tracks: dict) -> dict:
    """Concatenate cell points and track points into one set of per-point columns."""
    num_cells = len(pair_cell)
    track = track_points["track"]
    column = track_points["column"]
    num_tracks = len(track)
    category = np.where(track_points["own"], int(Category.FOCUS_TRACK), int(Category.OTHER_TRACK))
    # Blocks in a cloud: focus-track points, then cells, then other-track points.
    track_rank = np.where(track_points["own"], 0, 2)

    cell_energy = cells["energy"][pair_cell].astype(np.float64)
    noise = cells["noise"][pair_cell].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        significance = np.where(noise > 0, cell_energy / noise, 0.0)
    zeros = np.zeros(num_tracks)
    return {
        "cloud": np.concatenate([pair_cloud, track_points["cloud"]]),
        "category_rank": np.concatenate([np.ones(num_cells, dtype=np.int64), track_rank]),
        "order": np.concatenate([pair_cell, track * len(TRACK_LAYERS) + column]),
        "category": np.concatenate([np.full(num_cells, int(Category.CELL)), category]),
        "pos": np.concatenate(
            [np.stack([cells["x"][pair_cell], cells["y"][pair_cell], cells["z"][pair_cell]], axis=1), tracks["xyz"][track, column]]
        ).astype(np.float32),
        "eta": np.concatenate([cells["eta"][pair_cell].astype(np.float64), track_points["eta"]]),
        "phi": np.concatenate([cells["phi"][pair_cell].astype(np.float64), track_points["phi"]]),
        "energy_feature": np.concatenate(
            [_scaled_energy(cell_energy, CELL_ENERGY_SCALE_GEV), _scaled_energy(tracks["pt"][track], TRACK_PT_SCALE_GEV)]
        ),
        "layer": np.concatenate([cells["sampling"][pair_cell].astype(np.int64), _TRACK_LAYER_IDS[column]]),
        "significance": np.concatenate([significance, zeros]).astype(np.float32),
        "label": np.concatenate([labels["label"], zeros]),
        "weight": np.concatenate([cell_energy, zeros]),
        "frac_focus": np.concatenate([labels["frac_focus"], zeros]),
        "frac_charged": np.concatenate([labels["frac_charged"], zeros]),
        "frac_neutral": np.concatenate([labels["frac_neutral"], zeros]),
        "cell_id": np.concatenate([cells["id"][pair_cell].astype(np.int64), np.full(num_tracks, -1)]),
        "cluster": np.concatenate([cells["cluster"][pair_cell].astype(np.int64), np.full(num_tracks, -1)]),
        "delta_r": np.concatenate([pair_dr, track_points["delta_r"]]),
    }


def _distance_to_focus(pos: np.ndarray, cloud: np.ndarray, focus_xyz: np.ndarray, focus_valid: np.ndarray) -> np.ndarray:
    """Return each point's distance in mm to the nearest crossed-layer intersection of its cloud's focus track.

    The crossed intersections of each focus track are moved to the front of
    its row and the rest set to infinity, so one pass per candidate slot,
    up to the largest number of crossed layers, covers every point.
    """
    front = np.argsort(~focus_valid, axis=1, kind="stable")
    candidates = np.take_along_axis(focus_xyz, front[:, :, None], axis=1).astype(np.float32)
    candidates[~np.take_along_axis(focus_valid, front, axis=1)] = np.inf
    num_slots = int(focus_valid.sum(axis=1).max()) if len(focus_valid) else 0
    best = np.full(len(pos), np.inf, dtype=np.float32)
    for slot in range(num_slots):
        diff = pos - candidates[cloud, slot]
        np.minimum(best, np.einsum("ij,ij->i", diff, diff), out=best)
    return np.sqrt(best)
