"""Conversion of raw ``EventTree`` branches into cleaned per-event cells, tracks and truth particles.

Every step works on the offsets and flat values of whole chunks with numpy;
there is no Python loop over events, tracks or cells. Rejected events are
removed with one awkward selection, which only runs when some event is
rejected.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import awkward as ak
import numpy as np

from ..geometry import EXTRAPOLATION_LAYERS, SENTINEL_THRESHOLD
from . import schema
from .jagged import Jagged, pack, unpack
from .summary import ReadSummary

if TYPE_CHECKING:
    from .cellgeo import CellGeometry

__all__ = ["convert_events", "merge_shared_cells"]

log = logging.getLogger(__name__)

# Keys ``(item, reason)`` of the ReadSummary counts for the known MLTree
# pitfalls; ``pflow_geo.io.inspect`` reports them by these names.
UNEQUAL_TRACK_VECTORS = ("event", "per-track vectors of unequal length")
TRUTH_LIST_TRUNCATED = ("cluster", "per-cell truth list longer than the cell list, truncated")
CELL_ENERGY_NOT_FINITE = ("cell", "energy is NaN or infinite")
CELL_NOT_IN_GEOMETRY = ("cell", "cell ID not found in CellGeo")
SHARED_CELL_MERGED = ("cell", "shared by several clusters, energies summed into one cell")
TRUTH_ENERGY_NOT_FINITE = ("truth contribution", "energy is NaN or infinite")
TRUTH_INDEX_OUT_OF_RANGE = ("truth contribution", "truth index outside the truth-particle list")
UNSIGNED_UNMATCHED_INDEX = ("track", "unsigned truth index 4294967295 read as unmatched (-1)")
TRACK_INDEX_OUT_OF_RANGE = ("track", "truth index outside the truth-particle list, set to unmatched")
TRACK_NOT_FINITE = ("track", "pt, eta or phi is NaN or infinite")
LAYER_SENTINEL = ("track layer", "no intersection (sentinel -1e9), treated as not crossed")
LAYER_NOT_FINITE = ("track layer value", "NaN or infinite extrapolation, treated as not crossed")

_CELL_BRANCHES = (schema.CELL_ID, schema.CELL_ENERGY, schema.CELL_TRUTH_INDEX, schema.CELL_TRUTH_ENERGY)
_TRUTH_FIELDS = {
    "truthPartPt": "pt",
    "truthPartE": "e",
    "truthPartEta": "eta",
    "truthPartPhi": "phi",
    "truthPartMass": "mass",
    "truthPartStatus": "status",
}


def convert_events(
    arrays: ak.Array, geometry: CellGeometry, truth_energy_scale: float, summary: ReadSummary, path: str
) -> tuple[np.ndarray, ak.Array, ak.Array, ak.Array, ak.Array]:
    """Validate and convert one chunk of raw branches.

    Args:
        arrays: The branches of ``EventTree`` for the chunk, as read by uproot.
        geometry: The cell geometry to join by cell ID.
        truth_energy_scale: Factor that turns ``cluster_cell_hitsTruthE`` into GeV.
        summary: Receives the counts of skipped and corrected items.
        path: The file, for log messages.

    Returns:
        ``(keep, arrays, cells, tracks, truth)``: the mask of kept events over
        the chunk, the raw branches of the kept events, and the per-event
        cells, tracks and truth particles described in ``EventChunk``.
    """
    keep = _valid_events(arrays, summary)
    if not keep.all():
        arrays = arrays[keep]
    columns = {name: unpack(arrays[name]) for name in arrays.fields if name.startswith(("track", "cluster", "truthPart"))}
    num_events = len(arrays)
    num_truth = _num_truth(arrays, columns)
    cells = _build_cells(columns, num_events, num_truth, geometry, truth_energy_scale, summary, path)
    tracks = _build_tracks(columns, num_events, num_truth, summary)
    truth = _build_truth(columns)
    return keep, arrays, cells, tracks, truth


def _any_per_event(bad: np.ndarray, event: np.ndarray, num_events: int) -> np.ndarray:
    return np.bincount(event[bad], minlength=num_events) > 0


def _valid_events(arrays: ak.Array, summary: ReadSummary) -> np.ndarray:
    """Return the mask of events whose vectors line up, counting each rejected event by reason."""
    num_events = len(arrays)
    keep = np.ones(num_events, dtype=bool)

    def reject(bad: np.ndarray, reason: str) -> None:
        bad = bad & keep
        summary.skip("event", reason, int(bad.sum()))
        keep[bad] = False

    # Per-track vectors: in files before mid-2023 a failed calorimeter
    # extension left the layer branches one element short, which misaligns
    # every later track. Such events are dropped, never realigned.
    track_branches = [b for b in arrays.fields if b.startswith("track")]
    lengths = np.stack([unpack(arrays[b]).counts() for b in track_branches])
    reject(np.any(lengths != lengths[0], axis=0), UNEQUAL_TRACK_VECTORS[1])
    if schema.NUM_TRACKS in arrays.fields:
        reject(ak.to_numpy(arrays[schema.NUM_TRACKS]) != lengths[0], "nTrack differs from the track vector length")

    # Cluster axis of the four cell branches.
    raw = {name: unpack(arrays[name]) for name in _CELL_BRANCHES}
    num_clusters = np.stack([raw[name].counts(0) for name in _CELL_BRANCHES])
    reject(np.any(num_clusters != num_clusters[0], axis=0), "cell branches with different numbers of clusters")

    # Cell axis: IDs and energies must match; truth lists may be longer (they
    # are padded with empty lists up to cluster_nCells) but never shorter.
    raw, event_of_cluster = _kept_cell_branches(arrays, raw, keep)
    num_ids = raw[schema.CELL_ID].counts(1)
    num_truth = raw[schema.CELL_TRUTH_INDEX].counts(1)
    checks = [
        (raw[schema.CELL_ENERGY].counts(1) != num_ids, "cluster_cell_E and cluster_cell_ID of different lengths"),
        (raw[schema.CELL_TRUTH_ENERGY].counts(1) != num_truth, "cluster_cell_hitsTruthE and cluster_cell_hitsTruthIndex of different lengths"),
        (num_truth < num_ids, "per-cell truth lists shorter than the cell list"),
    ]
    for mismatch, reason in checks:
        reject(_any_per_event(mismatch, event_of_cluster, num_events), reason)

    # Contributor axis: the truth index and energy lists of every cell.
    raw, event_of_cluster = _kept_cell_branches(arrays, raw, keep)
    slot_cluster = np.repeat(np.arange(len(event_of_cluster)), raw[schema.CELL_TRUTH_INDEX].counts(1))
    mismatch = raw[schema.CELL_TRUTH_INDEX].counts(2) != raw[schema.CELL_TRUTH_ENERGY].counts(2)
    reject(_any_per_event(mismatch, event_of_cluster[slot_cluster], num_events), "truth index and energy lists of different lengths within a cell")
    return keep


def _kept_cell_branches(arrays: ak.Array, raw: dict[str, Jagged], keep: np.ndarray) -> tuple[dict[str, Jagged], np.ndarray]:
    """Return the cell branches of the kept events and the original event index of each of their clusters.

    ``raw`` is reused when it already contains exactly the kept events.
    """
    kept = np.flatnonzero(keep)
    if len(raw[schema.CELL_ID].offsets[0]) - 1 != len(kept):
        subset = arrays[keep]
        raw = {name: unpack(subset[name]) for name in _CELL_BRANCHES}
    return raw, kept[np.repeat(np.arange(len(kept)), raw[schema.CELL_ID].counts(0))]


def _num_truth(arrays: ak.Array, columns: dict[str, Jagged]) -> np.ndarray:
    """Return the number of truth particles per event, from nTruthPart when present."""
    counted = columns[schema.TRUTH_PDG_ID].counts().astype(np.int64)
    if schema.NUM_TRUTH in arrays.fields:
        return np.minimum(counted, ak.to_numpy(arrays[schema.NUM_TRUTH]).astype(np.int64))
    return counted


def _build_cells(
    columns: dict[str, Jagged],
    num_events: int,
    num_truth: np.ndarray,
    geometry: CellGeometry,
    truth_energy_scale: float,
    summary: ReadSummary,
    path: str,
) -> ak.Array:
    """Flatten clusters into unique cells per event, join the geometry and convert units."""
    ids = columns[schema.CELL_ID]
    truth_index = columns[schema.CELL_TRUTH_INDEX]
    truth_energy = columns[schema.CELL_TRUTH_ENERGY]
    clusters_per_event = ids.counts(0)
    cells_per_cluster = ids.counts(1)
    event_of_cluster = np.repeat(np.arange(num_events), clusters_per_event)
    cluster_of_cell = np.repeat(np.arange(len(cells_per_cluster)), cells_per_cluster)
    event_of_cell = event_of_cluster[cluster_of_cell]
    flat_cluster = (cluster_of_cell - ids.offsets[0][event_of_cell]).astype(np.int32)

    # Truth lists are written for every cell of the cluster before the 5 MeV
    # cut, so only the first len(cluster_cell_ID[c]) of them line up.
    slots_per_cluster = truth_index.counts(1)
    longer = slots_per_cluster > cells_per_cluster
    summary.correct(*TRUTH_LIST_TRUNCATED, int(longer.sum()))
    slot_cluster = np.repeat(np.arange(len(slots_per_cluster)), slots_per_cluster)
    slot_position = np.arange(len(slot_cluster)) - truth_index.offsets[1][slot_cluster]
    slot_kept = slot_position < cells_per_cluster[slot_cluster]
    contributors_per_slot = truth_index.counts(2)
    contribution_kept = np.repeat(slot_kept, contributors_per_slot)
    contributors = contributors_per_slot[slot_kept]

    flat_id = ids.values.astype(np.uint64, copy=False)
    flat_energy = columns[schema.CELL_ENERGY].values.astype(np.float32)
    cell_of_contribution = np.repeat(np.arange(len(flat_id)), contributors)
    flat_truth_index = truth_index.values[contribution_kept].astype(np.int64)
    flat_truth_energy = truth_energy.values[contribution_kept].astype(np.float64)

    # Drop cells with a non-finite energy or an ID absent from CellGeo.
    geo_row = geometry.rows(flat_id)
    finite = np.isfinite(flat_energy)
    summary.skip(*CELL_ENERGY_NOT_FINITE, int((~finite).sum()))
    known = geo_row >= 0
    summary.skip(*CELL_NOT_IN_GEOMETRY, int((finite & ~known).sum()))
    if (~known).any():
        log.debug("%s: cell IDs not in CellGeo, e.g. %s", path, flat_id[~known][:5].tolist())
    keep_cell = finite & known

    # Drop truth contributions that are not finite or point outside the truth list.
    contribution_event = event_of_cell[cell_of_contribution]
    finite_truth = np.isfinite(flat_truth_energy)
    summary.skip(*TRUTH_ENERGY_NOT_FINITE, int((~finite_truth).sum()))
    in_range = (flat_truth_index >= 0) & (flat_truth_index < num_truth[contribution_event])
    summary.skip(*TRUTH_INDEX_OUT_OF_RANGE, int((finite_truth & ~in_range).sum()))
    keep_contribution = finite_truth & in_range & keep_cell[cell_of_contribution]

    new_index = np.cumsum(keep_cell) - 1
    cell_of_contribution = new_index[cell_of_contribution[keep_contribution]]
    flat_truth_index = flat_truth_index[keep_contribution]
    flat_truth_energy = flat_truth_energy[keep_contribution] * truth_energy_scale
    event_of_cell = event_of_cell[keep_cell]
    flat_id = flat_id[keep_cell]
    flat_energy = flat_energy[keep_cell]
    flat_cluster = flat_cluster[keep_cell]
    geo_row = geo_row[keep_cell]

    merged = merge_shared_cells(event_of_cell, flat_id, flat_energy, cell_of_contribution, flat_truth_index, flat_truth_energy)
    if merged is not None:
        first, flat_energy, cell_of_contribution, flat_truth_index, flat_truth_energy, num_shared = merged
        summary.correct(*SHARED_CELL_MERGED, num_shared)
        event_of_cell = event_of_cell[first]
        flat_id = flat_id[first]
        flat_cluster = flat_cluster[first]
        geo_row = geo_row[first]

    contribution_offsets = _offsets(np.bincount(cell_of_contribution, minlength=len(flat_id)))
    cell_offsets = _offsets(np.bincount(event_of_cell, minlength=num_events))
    noise = geometry.noise[geo_row] if geometry.noise is not None else np.full(len(geo_row), np.nan, dtype=np.float32)
    fields = {
        "id": flat_id,
        "geo_row": geo_row,
        "energy": flat_energy,
        "cluster": flat_cluster,
        "sampling": geometry.sampling[geo_row],
        "eta": geometry.eta[geo_row],
        "phi": geometry.phi[geo_row],
        "x": geometry.x[geo_row],
        "y": geometry.y[geo_row],
        "z": geometry.z[geo_row],
        "noise": noise,
    }
    contents = [ak.contents.NumpyArray(values) for values in fields.values()]
    contents.append(pack(contribution_offsets, flat_truth_index))
    contents.append(pack(contribution_offsets, flat_truth_energy.astype(np.float32)))
    record = ak.contents.RecordArray(contents, [*fields, "truth_index", "truth_energy"], length=len(flat_id))
    return ak.Array(pack(cell_offsets, record))


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def merge_shared_cells(
    event: np.ndarray,
    cell_id: np.ndarray,
    energy: np.ndarray,
    contribution_cell: np.ndarray,
    truth_index: np.ndarray,
    truth_energy: np.ndarray,
) -> tuple | None:
    """Merge cells that appear in several clusters of the same event.

    A cell shared by clusters is stored once per cluster with its weighted
    share of the energy, so the shares are summed. Its truth list describes
    the cell's calibration hits, not the share, so every copy carries the same
    list: each truth particle is kept once with the largest energy seen.

    Returns None when no cell is shared. Otherwise returns the index of each
    merged cell's first copy, the summed energies, the re-indexed truth
    contributions (cell, truth index, energy), and the number of cells that
    had more than one copy. Merged cells keep the order of their first copies.
    """
    if len(cell_id) and int(cell_id.max()) < 2**32:
        # Compact identifiers fit in 32 bits, so one sort on a combined key replaces a two-key lexsort.
        key = (event.astype(np.uint64) << np.uint64(32)) | cell_id.astype(np.uint64)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        same = sorted_key[1:] == sorted_key[:-1]
    else:
        order = np.lexsort((cell_id, event))
        same = (event[order][1:] == event[order][:-1]) & (cell_id[order][1:] == cell_id[order][:-1])
    if not same.any():
        return None

    run_starts = np.flatnonzero(np.concatenate(([True], ~same)))
    group_of_sorted = np.cumsum(np.concatenate(([True], ~same))) - 1
    group = np.empty(len(order), dtype=np.int64)
    group[order] = group_of_sorted

    # Both sorts are stable, so the first element of each run is the first copy.
    # Marking the first copies in file order gives the merged cells' order without sorting.
    is_first = np.zeros(len(order), dtype=bool)
    is_first[order[run_starts]] = True
    first = np.flatnonzero(is_first)
    rank = np.empty(len(run_starts), dtype=np.int64)
    rank[group[first]] = np.arange(len(first))
    summed = np.add.reduceat(energy[order].astype(np.float64), run_starts).astype(np.float32)

    # Truth indices are small non-negative integers after validation, so the
    # (merged cell, truth index) pairs also sort on one combined key.
    contribution_group = rank[group[contribution_cell]]
    pair_key = (contribution_group.astype(np.uint64) << np.uint64(32)) | truth_index.astype(np.uint64)
    pair_order = np.argsort(pair_key, kind="stable")
    sorted_key = pair_key[pair_order]
    pair_starts = np.flatnonzero(np.concatenate(([True], sorted_key[1:] != sorted_key[:-1])))
    if len(pair_starts):
        merged_energy = np.maximum.reduceat(truth_energy[pair_order], pair_starts)
    else:
        merged_energy = truth_energy[:0]
    return (
        first,
        summed[group[first]],
        contribution_group[pair_order][pair_starts],
        truth_index[pair_order][pair_starts],
        merged_energy,
        int(np.count_nonzero(np.diff(np.append(run_starts, len(order))) > 1)),
    )


def _build_tracks(columns: dict[str, Jagged], num_events: int, num_truth: np.ndarray, summary: ReadSummary) -> ak.Array:
    """Collect per-track kinematics, truth links and layer intersections, dropping tracks with non-finite kinematics."""
    counts = columns["trackPt"].counts()
    event_of_track = np.repeat(np.arange(num_events), counts)

    flat_index = columns[schema.TRACK_TRUTH_INDEX].values
    if flat_index.dtype.kind == "u":
        unsigned_unmatched = flat_index == schema.UNSIGNED_UNMATCHED
        summary.correct(*UNSIGNED_UNMATCHED_INDEX, int(unsigned_unmatched.sum()))
        flat_index = np.where(unsigned_unmatched, -1, flat_index.astype(np.int64))
    flat_index = flat_index.astype(np.int64)
    out_of_range = (flat_index < -1) | (flat_index >= num_truth[event_of_track])
    summary.correct(*TRACK_INDEX_OUT_OF_RANGE, int(out_of_range.sum()))
    flat_index = np.where(out_of_range, -1, flat_index)

    num_tracks = len(flat_index)
    layer_eta = np.full((num_tracks, len(EXTRAPOLATION_LAYERS)), np.nan, dtype=np.float32)
    layer_phi = np.full_like(layer_eta, np.nan)
    sentinel = np.zeros(layer_eta.shape, dtype=bool)
    non_finite = 0
    for column, layer in enumerate(EXTRAPOLATION_LAYERS):
        for name, target in ((f"trackEta_{layer.name}", layer_eta), (f"trackPhi_{layer.name}", layer_phi)):
            if name not in columns:
                continue
            values = columns[name].values.astype(np.float32)
            bad = ~np.isfinite(values)
            below = ~bad & (values < SENTINEL_THRESHOLD)
            non_finite += int(bad.sum())
            sentinel[:, column] |= below
            target[:, column] = np.where(bad | below, np.nan, values)
    # A layer counts as crossed only when both its eta and phi are valid.
    missing = np.isnan(layer_eta) | np.isnan(layer_phi)
    layer_eta[missing] = np.nan
    layer_phi[missing] = np.nan
    summary.correct(*LAYER_SENTINEL, int(sentinel.sum()))
    summary.correct(*LAYER_NOT_FINITE, non_finite)

    fields = {
        "index": (np.arange(num_tracks) - columns["trackPt"].offsets[0][event_of_track]).astype(np.int32),
        "pt": columns["trackPt"].values.astype(np.float32),
        "eta": columns["trackEta"].values.astype(np.float32),
        "phi": columns["trackPhi"].values.astype(np.float32),
        "truth_index": flat_index,
    }
    finite = np.isfinite(fields["pt"]) & np.isfinite(fields["eta"]) & np.isfinite(fields["phi"])
    summary.skip(*TRACK_NOT_FINITE, int((~finite).sum()))

    num_layers = len(EXTRAPOLATION_LAYERS)
    contents = [ak.contents.NumpyArray(values[finite]) for values in fields.values()]
    for layers in (layer_eta, layer_phi):
        contents.append(ak.contents.RegularArray(ak.contents.NumpyArray(layers[finite].reshape(-1)), num_layers))
    record = ak.contents.RecordArray(contents, [*fields, "layer_eta", "layer_phi"], length=int(finite.sum()))
    return ak.Array(pack(_offsets(np.bincount(event_of_track[finite], minlength=num_events)), record))


def _build_truth(columns: dict[str, Jagged]) -> ak.Array:
    """Collect the truth-particle list of each event.

    An optional kinematic branch is left out of the whole chunk when its
    lengths differ from those of ``truthPartPdgId`` in any event.
    """
    pdg = columns[schema.TRUTH_PDG_ID]
    fields = {"pdg_id": pdg.values.astype(np.int32)}
    for branch, name in _TRUTH_FIELDS.items():
        if branch in columns and np.array_equal(columns[branch].offsets[0], pdg.offsets[0]):
            fields[name] = columns[branch].values
    record = ak.contents.RecordArray([ak.contents.NumpyArray(v) for v in fields.values()], list(fields), length=len(pdg.values))
    return ak.Array(pack(pdg.offsets[0], record))
