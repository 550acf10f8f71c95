"""Chunked, validating reader of ATLAS MLTree ``EventTree`` files (TTree or RNTuple).

The reader turns the cluster-nested MLTree layout into per-event arrays of
unique cells joined with their geometry, tracks with their layer
intersections, and truth particles. Everything is columnar over a chunk of
events; there is no Python loop over events, tracks or cells.

Units of the returned arrays: energies and momenta in GeV (truth energies and
noise are converted from MeV here, once), lengths in mm, angles in radians.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import awkward as ak
import numpy as np

from ..errors import MLTreeInputError
from ..geometry import EXTRAPOLATION_LAYERS, SENTINEL_THRESHOLD
from . import schema
from .cellgeo import CellGeometry, read_cell_geometry
from .files import get_tree, open_root_file, read_branches, tree_branch_names
from .summary import ReadSummary
from .units import check_units

__all__ = ["EventChunk", "MLTreeReader", "check_event_branches", "missing_event_branches"]

log = logging.getLogger(__name__)

EnergyUnit = Literal["MeV", "GeV"]
_MEV_PER_UNIT = {"MeV": 1.0, "GeV": 1e3}

# Keys ``(item, reason)`` of the ReadSummary counts for the known MLTree
# pitfalls; ``pflow_geo.io.inspect`` reports them by these names.
UNEQUAL_TRACK_VECTORS = ("event", "per-track vectors of unequal length")
TRUTH_LIST_TRUNCATED = ("cluster", "per-cell truth list longer than the cell list, truncated")
CELL_ENERGY_NOT_FINITE = ("cell", "energy is NaN or infinite")
CELL_NOT_IN_GEOMETRY = ("cell", "cell ID not found in CellGeo")
SHARED_CELL_MERGED = ("cell", "shared by several clusters, energies summed into one cell")
TRUTH_ENERGY_NOT_FINITE = ("truth contribution", "energy is NaN or infinite")
UNSIGNED_UNMATCHED_INDEX = ("track", "unsigned truth index 4294967295 read as unmatched (-1)")
TRACK_NOT_FINITE = ("track", "pt, eta or phi is NaN or infinite")
LAYER_SENTINEL = ("track layer", "no intersection (sentinel -1e9), treated as not crossed")
LAYER_NOT_FINITE = ("track layer value", "NaN or infinite extrapolation, treated as not crossed")


@dataclass
class EventChunk:
    """A chunk of events from one file, cleaned and joined with the cell geometry.

    Attributes:
        path: The file the events come from.
        entry: Entry number of each event in ``EventTree``, int64 ``[num_events]``.
        event_number: ``eventNumber`` of each event, int64 ``[num_events]``.
        tracks: ``[num_events][num_tracks]`` records with fields ``index``
            (position in the file's track vectors), ``pt``, ``eta``, ``phi``
            (GeV, radians, at the perigee), ``truth_index`` (int64, -1 when
            unmatched), ``layer_eta`` and ``layer_phi`` (``[21]`` per track in
            the order of ``geometry.EXTRAPOLATION_LAYERS``, NaN where the layer
            is not crossed).
        cells: ``[num_events][num_cells]`` records, one per unique cell, with
            fields ``id`` (uint64), ``geo_row`` (row in the CellGeo arrays),
            ``energy`` (GeV, summed over the clusters that share the cell),
            ``cluster`` (index of the first cluster holding the cell),
            ``sampling``, ``eta``, ``phi``, ``x``, ``y``, ``z`` (mm) and
            ``noise`` (GeV, NaN without a noise branch) from CellGeo,
            ``truth_index`` (``[num_contributors]`` int64) and
            ``truth_energy`` (``[num_contributors]`` GeV, total calibration-hit
            energy of each truth particle in the cell).
        truth: ``[num_events][num_particles]`` records with ``pdg_id`` and the
            optional kinematic branches present in the file (``pt``, ``e``,
            ``eta``, ``phi``, ``mass`` in GeV and radians).
        geometry: The cell geometry, for looking up positions by ``geo_row``.
    """

    path: str
    entry: np.ndarray
    event_number: np.ndarray
    tracks: ak.Array
    cells: ak.Array
    truth: ak.Array
    geometry: CellGeometry

    def __len__(self) -> int:
        return len(self.entry)


class MLTreeReader:
    """Read an MLTree file chunk by chunk.

    Args:
        path: ROOT file with ``EventTree`` (and ``CellGeo``, unless ``cell_geo`` is given).
        cell_geo: A separate file with the ``CellGeo`` tree, or an already read
            :class:`CellGeometry` to share between readers.
        step_size: Number of events per chunk; peak memory grows linearly with it.
        truth_energy_unit: Unit of ``cluster_cell_hitsTruthE`` in the file. MLTree writes MeV.
        check_units: Check on the first non-empty chunk that cell energies look
            like GeV, truth energies like ``truth_energy_unit`` and the CellGeo
            noise like MeV, and raise otherwise (see ``pflow_geo.io.units``).

    Raises:
        MLTreeInputError: For a missing or unreadable file, a missing tree or
            a missing required branch (all missing branches are listed).

    Example:
        >>> with MLTreeReader("rho.root") as reader:  # doctest: +SKIP
        ...     for chunk in reader:
        ...         print(len(chunk), ak.num(chunk.cells).sum())
        ...     print(reader.summary.lines())
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        cell_geo: str | os.PathLike[str] | CellGeometry | None = None,
        *,
        step_size: int = 1000,
        truth_energy_unit: EnergyUnit = "MeV",
        check_units: bool = True,
    ) -> None:
        if step_size < 1:
            raise ValueError(f"step_size must be a positive number of events, got {step_size}")
        if truth_energy_unit not in _MEV_PER_UNIT:
            raise ValueError(f"truth_energy_unit must be 'MeV' or 'GeV', got {truth_energy_unit!r}")
        self.path = os.fspath(path)
        self.step_size = step_size
        self.truth_energy_unit = truth_energy_unit
        self.check_units = check_units
        self.summary = ReadSummary()

        self._file = open_root_file(self.path)
        try:
            self._tree = get_tree(self._file, schema.EVENT_TREE, self.path)
            present = tree_branch_names(self._tree)
            check_event_branches(present, self.path)
            self._branches = [*schema.REQUIRED_EVENT_BRANCHES] + [b for b in schema.OPTIONAL_EVENT_BRANCHES if b in present]
            self._present = present

            if isinstance(cell_geo, CellGeometry):
                self.geometry = cell_geo
            elif cell_geo is not None:
                self.geometry = read_cell_geometry(cell_geo)
            else:
                self.geometry = read_cell_geometry(self.path, root_file=self._file)
        except BaseException:
            self._file.close()
            raise
        self._units_checked = not check_units

    @property
    def num_events(self) -> int:
        """Number of entries in ``EventTree``."""
        return int(self._tree.num_entries)

    def __enter__(self) -> MLTreeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying file."""
        self._file.close()

    def __iter__(self) -> Iterator[EventChunk]:
        return self.iterate()

    def iterate(self, entry_start: int = 0, entry_stop: int | None = None, step_size: int | None = None) -> Iterator[EventChunk]:
        """Yield chunks of at most ``step_size`` events from ``[entry_start, entry_stop)``.

        The skip and correction counts go to ``self.summary`` and are logged
        when the iteration ends.
        """
        step = step_size or self.step_size
        stop = self.num_events if entry_stop is None else min(entry_stop, self.num_events)
        for start in range(entry_start, stop, step):
            yield self.read(start, min(start + step, stop))
        self.summary.log(log, self.path)

    def read(self, entry_start: int, entry_stop: int) -> EventChunk:
        """Read, validate and convert the events ``[entry_start, entry_stop)``.

        Raises:
            MLTreeInputError: If the entries cannot be decoded, or if
                ``check_units`` is set and a unit check fails on the first
                non-empty chunk.
        """
        arrays = read_branches(self._tree, self._branches, self.path, entry_start, entry_stop)
        chunk = _build_chunk(self, arrays, entry_start)
        if not self._units_checked and len(chunk):
            for result in check_units(chunk, self.truth_energy_unit):
                if result.error is not None:
                    raise result.error
            self._units_checked = True
        return chunk


def missing_event_branches(present: Iterable[str]) -> list[str]:
    """Return the required ``EventTree`` branches that are not in ``present``, in schema order."""
    present = set(present)
    return [name for name in schema.REQUIRED_EVENT_BRANCHES if name not in present]


def check_event_branches(present: Iterable[str], path: str | os.PathLike[str]) -> None:
    """Raise MLTreeInputError listing every required ``EventTree`` branch missing from ``present``.

    Args:
        present: Branch names of the file's ``EventTree``.
        path: The file, for the message.
    """
    missing = missing_event_branches(present)
    if missing:
        raise MLTreeInputError(
            path,
            f"EventTree lacks {len(missing)} required branch(es): {', '.join(missing)}",
            item=", ".join(missing),
            hint="produce the ntuple with MLTree's Tracking, ClusterCells, ClusterCalibHits and "
            "TruthParticlesPerCell options, or run `pflow-geo inspect` on it for details",
        )


def _build_chunk(reader: MLTreeReader, arrays: ak.Array, entry_start: int) -> EventChunk:
    summary = reader.summary
    num_read = len(arrays)
    summary.events_read += num_read
    entry = np.arange(entry_start, entry_start + num_read, dtype=np.int64)

    keep = _valid_events(arrays, summary)
    arrays = arrays[keep]
    entry = entry[keep]
    summary.events_kept += len(arrays)

    cells = _build_cells(reader, arrays, summary)
    tracks = _build_tracks(reader, arrays, summary)
    truth = _build_truth(reader, arrays)
    return EventChunk(
        path=reader.path,
        entry=entry,
        event_number=ak.to_numpy(arrays[schema.EVENT_NUMBER]).astype(np.int64),
        tracks=tracks,
        cells=cells,
        truth=truth,
        geometry=reader.geometry,
    )


def _valid_events(arrays: ak.Array, summary: ReadSummary) -> np.ndarray:
    """Return the mask of events whose vectors line up, counting each rejected event by reason."""
    fields = set(arrays.fields)
    keep = np.ones(len(arrays), dtype=bool)

    def reject(bad: Any, reason: str) -> None:
        bad = np.asarray(ak.to_numpy(bad), dtype=bool) & keep
        summary.skip("event", reason, int(bad.sum()))
        keep[bad] = False

    # Per-track vectors: in files before mid-2023 a failed calorimeter
    # extension left the layer branches one element short, which misaligns
    # every later track. Such events are dropped, never realigned.
    track_branches = [b for b in arrays.fields if b.startswith("track")]
    lengths = np.stack([ak.to_numpy(ak.num(arrays[b], axis=1)) for b in track_branches])
    reject(np.any(lengths != lengths[0], axis=0), UNEQUAL_TRACK_VECTORS[1])
    if schema.NUM_TRACKS in fields:
        reject(ak.to_numpy(arrays[schema.NUM_TRACKS]) != lengths[0], "nTrack differs from the track vector length")

    # Cluster axis of the four cell branches.
    cell_branches = (schema.CELL_ID, schema.CELL_ENERGY, schema.CELL_TRUTH_INDEX, schema.CELL_TRUTH_ENERGY)
    num_clusters = np.stack([ak.to_numpy(ak.num(arrays[b], axis=1)) for b in cell_branches])
    reject(np.any(num_clusters != num_clusters[0], axis=0), "cell branches with different numbers of clusters")

    # Cell axis: IDs and energies must match; truth lists may be longer (they
    # are padded with empty lists up to cluster_nCells) but never shorter.
    subset = arrays[keep]
    sub_keep = np.flatnonzero(keep)
    num_ids = ak.num(subset[schema.CELL_ID], axis=2)
    num_energies = ak.num(subset[schema.CELL_ENERGY], axis=2)
    num_truth = ak.num(subset[schema.CELL_TRUTH_INDEX], axis=2)
    num_truth_energy = ak.num(subset[schema.CELL_TRUTH_ENERGY], axis=2)
    checks = [
        (num_energies != num_ids, "cluster_cell_E and cluster_cell_ID of different lengths"),
        (num_truth_energy != num_truth, "cluster_cell_hitsTruthE and cluster_cell_hitsTruthIndex of different lengths"),
        (num_truth < num_ids, "per-cell truth lists shorter than the cell list"),
    ]
    for mismatch, reason in checks:
        bad = np.zeros(len(keep), dtype=bool)
        bad[sub_keep] = ak.to_numpy(ak.any(mismatch, axis=1))
        reject(bad, reason)

    subset = arrays[keep]
    sub_keep = np.flatnonzero(keep)
    contributor_mismatch = ak.num(subset[schema.CELL_TRUTH_INDEX], axis=3) != ak.num(subset[schema.CELL_TRUTH_ENERGY], axis=3)
    bad = np.zeros(len(keep), dtype=bool)
    bad[sub_keep] = ak.to_numpy(ak.any(ak.any(contributor_mismatch, axis=2), axis=1))
    reject(bad, "truth index and energy lists of different lengths within a cell")
    return keep


def _build_cells(reader: MLTreeReader, arrays: ak.Array, summary: ReadSummary) -> ak.Array:
    """Flatten clusters into unique cells per event, join the geometry and convert units."""
    ids = arrays[schema.CELL_ID]
    num_ids = ak.num(ids, axis=2)

    # Truth lists are written for every cell of the cluster before the 5 MeV
    # cut, so only the first len(cluster_cell_ID[c]) of them line up.
    truth_index = arrays[schema.CELL_TRUTH_INDEX]
    truth_energy = arrays[schema.CELL_TRUTH_ENERGY]
    longer = ak.to_numpy(ak.flatten(ak.num(truth_index, axis=2) > num_ids))
    if longer.any():
        summary.correct(*TRUTH_LIST_TRUNCATED, int(longer.sum()))
        aligned = ak.local_index(truth_index, axis=2) < num_ids
        truth_index = truth_index[aligned]
        truth_energy = truth_energy[aligned]

    # Merge the cluster and cell axes: [event][cluster][cell] -> [event][cell].
    cluster = ak.flatten(ak.broadcast_arrays(ak.local_index(ids, axis=1), ids)[0], axis=2)
    ids = ak.flatten(ids, axis=2)
    energy = ak.flatten(arrays[schema.CELL_ENERGY], axis=2)
    truth_index = ak.flatten(truth_index, axis=2)
    truth_energy = ak.flatten(truth_energy, axis=2)

    num_events = len(ids)
    cells_per_event = ak.to_numpy(ak.num(ids, axis=1))
    event_of_cell = np.repeat(np.arange(num_events), cells_per_event)
    flat_id = ak.to_numpy(ak.flatten(ids)).astype(np.uint64)
    flat_energy = ak.to_numpy(ak.flatten(energy)).astype(np.float32)
    flat_cluster = ak.to_numpy(ak.flatten(cluster)).astype(np.int32)
    contributors = ak.to_numpy(ak.flatten(ak.num(truth_index, axis=2)))
    cell_of_contribution = np.repeat(np.arange(len(flat_id)), contributors)
    flat_truth_index = ak.to_numpy(ak.flatten(truth_index, axis=None)).astype(np.int64)
    flat_truth_energy = ak.to_numpy(ak.flatten(truth_energy, axis=None)).astype(np.float64)

    # Drop cells with a non-finite energy or an ID absent from CellGeo.
    geo_row = reader.geometry.rows(flat_id)
    finite = np.isfinite(flat_energy)
    summary.skip(*CELL_ENERGY_NOT_FINITE, int((~finite).sum()))
    known = geo_row >= 0
    summary.skip(*CELL_NOT_IN_GEOMETRY, int((finite & ~known).sum()))
    if (~known).any():
        log.debug("%s: cell IDs not in CellGeo, e.g. %s", reader.path, flat_id[~known][:5].tolist())
    keep_cell = finite & known

    # Drop truth contributions that are not finite or point outside the truth list.
    num_truth = _num_truth(arrays)
    contribution_event = event_of_cell[cell_of_contribution]
    finite_truth = np.isfinite(flat_truth_energy)
    summary.skip(*TRUTH_ENERGY_NOT_FINITE, int((~finite_truth).sum()))
    in_range = (flat_truth_index >= 0) & (flat_truth_index < num_truth[contribution_event])
    summary.skip("truth contribution", "truth index outside the truth-particle list", int((finite_truth & ~in_range).sum()))
    keep_contribution = finite_truth & in_range & keep_cell[cell_of_contribution]

    new_index = np.cumsum(keep_cell) - 1
    cell_of_contribution = new_index[cell_of_contribution[keep_contribution]]
    flat_truth_index = flat_truth_index[keep_contribution]
    flat_truth_energy = flat_truth_energy[keep_contribution] * (_MEV_PER_UNIT[reader.truth_energy_unit] * 1e-3)
    event_of_cell = event_of_cell[keep_cell]
    flat_id = flat_id[keep_cell]
    flat_energy = flat_energy[keep_cell]
    flat_cluster = flat_cluster[keep_cell]
    geo_row = geo_row[keep_cell]

    merged = _merge_shared_cells(event_of_cell, flat_id, flat_energy, cell_of_contribution, flat_truth_index, flat_truth_energy)
    if merged is not None:
        first, flat_energy, cell_of_contribution, flat_truth_index, flat_truth_energy, num_shared = merged
        summary.correct(*SHARED_CELL_MERGED, num_shared)
        event_of_cell = event_of_cell[first]
        flat_id = flat_id[first]
        flat_cluster = flat_cluster[first]
        geo_row = geo_row[first]

    contributors = np.bincount(cell_of_contribution, minlength=len(flat_id))
    cell_counts = np.bincount(event_of_cell, minlength=num_events)
    geometry = reader.geometry
    noise = geometry.noise[geo_row] if geometry.noise is not None else np.full(len(geo_row), np.nan, dtype=np.float32)
    records = ak.zip(
        {
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
            "truth_index": ak.unflatten(flat_truth_index, contributors),
            "truth_energy": ak.unflatten(flat_truth_energy.astype(np.float32), contributors),
        },
        depth_limit=1,
    )
    return ak.unflatten(records, cell_counts)


def _merge_shared_cells(
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
    order = np.lexsort((cell_id, event))
    same = (event[order][1:] == event[order][:-1]) & (cell_id[order][1:] == cell_id[order][:-1])
    if not same.any():
        return None

    run_starts = np.flatnonzero(np.concatenate(([True], ~same)))
    group_of_sorted = np.cumsum(np.concatenate(([True], ~same))) - 1
    group = np.empty(len(order), dtype=np.int64)
    group[order] = group_of_sorted

    # Lexsort is stable, so the first element of each run is the first copy.
    first = order[run_starts]
    by_first = np.argsort(first, kind="stable")
    rank = np.empty(len(first), dtype=np.int64)
    rank[by_first] = np.arange(len(first))
    summed = np.add.reduceat(energy[order].astype(np.float64), run_starts).astype(np.float32)

    contribution_group = rank[group[contribution_cell]]
    pair_order = np.lexsort((truth_index, contribution_group))
    sorted_group = contribution_group[pair_order]
    sorted_index = truth_index[pair_order]
    new_pair = np.concatenate(([True], (sorted_group[1:] != sorted_group[:-1]) | (sorted_index[1:] != sorted_index[:-1])))
    pair_starts = np.flatnonzero(new_pair)
    if len(pair_starts):
        merged_energy = np.maximum.reduceat(truth_energy[pair_order], pair_starts)
    else:
        merged_energy = truth_energy[:0]
    return (
        first[by_first],
        summed[by_first],
        sorted_group[pair_starts],
        sorted_index[pair_starts],
        merged_energy,
        int(np.count_nonzero(np.diff(np.append(run_starts, len(order))) > 1)),
    )


def _num_truth(arrays: ak.Array) -> np.ndarray:
    """Return the number of truth particles per event, from nTruthPart when present."""
    counted = ak.to_numpy(ak.num(arrays[schema.TRUTH_PDG_ID], axis=1)).astype(np.int64)
    if schema.NUM_TRUTH in arrays.fields:
        return np.minimum(counted, ak.to_numpy(arrays[schema.NUM_TRUTH]).astype(np.int64))
    return counted


def _build_tracks(reader: MLTreeReader, arrays: ak.Array, summary: ReadSummary) -> ak.Array:
    """Collect per-track kinematics, truth links and layer intersections, dropping tracks with non-finite kinematics."""
    counts = ak.num(arrays[schema.TRACK_KINEMATICS[0]], axis=1)
    num_truth = _num_truth(arrays)

    raw_index = arrays[schema.TRACK_TRUTH_INDEX]
    flat_index = ak.to_numpy(ak.flatten(raw_index))
    if flat_index.dtype.kind == "u":
        unsigned_unmatched = flat_index == schema.UNSIGNED_UNMATCHED
        summary.correct(*UNSIGNED_UNMATCHED_INDEX, int(unsigned_unmatched.sum()))
        flat_index = np.where(unsigned_unmatched, -1, flat_index.astype(np.int64))
    flat_index = flat_index.astype(np.int64)
    event_of_track = np.repeat(np.arange(len(arrays)), ak.to_numpy(counts))
    out_of_range = (flat_index < -1) | (flat_index >= num_truth[event_of_track])
    summary.correct("track", "truth index outside the truth-particle list, set to unmatched", int(out_of_range.sum()))
    flat_index = np.where(out_of_range, -1, flat_index)

    num_tracks = len(flat_index)
    layer_eta = np.full((num_tracks, len(EXTRAPOLATION_LAYERS)), np.nan, dtype=np.float32)
    layer_phi = np.full_like(layer_eta, np.nan)
    sentinel = np.zeros(layer_eta.shape, dtype=bool)
    non_finite = 0
    for column, layer in enumerate(EXTRAPOLATION_LAYERS):
        for name, target in ((f"trackEta_{layer.name}", layer_eta), (f"trackPhi_{layer.name}", layer_phi)):
            if name not in arrays.fields:
                continue
            values = ak.to_numpy(ak.flatten(arrays[name])).astype(np.float32)
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

    columns = {
        "index": ak.to_numpy(ak.flatten(ak.local_index(arrays["trackPt"], axis=1))).astype(np.int32),
        "pt": ak.to_numpy(ak.flatten(arrays["trackPt"])).astype(np.float32),
        "eta": ak.to_numpy(ak.flatten(arrays["trackEta"])).astype(np.float32),
        "phi": ak.to_numpy(ak.flatten(arrays["trackPhi"])).astype(np.float32),
        "truth_index": flat_index,
    }
    finite = np.isfinite(columns["pt"]) & np.isfinite(columns["eta"]) & np.isfinite(columns["phi"])
    summary.skip(*TRACK_NOT_FINITE, int((~finite).sum()))

    columns = {name: values[finite] for name, values in columns.items()}
    columns["layer_eta"] = ak.from_numpy(layer_eta[finite], regulararray=True)
    columns["layer_phi"] = ak.from_numpy(layer_phi[finite], regulararray=True)
    kept_counts = np.bincount(event_of_track[finite], minlength=len(arrays))
    return ak.unflatten(ak.zip(columns, depth_limit=1), kept_counts)


_TRUTH_FIELDS = {
    "truthPartPt": "pt",
    "truthPartE": "e",
    "truthPartEta": "eta",
    "truthPartPhi": "phi",
    "truthPartMass": "mass",
    "truthPartStatus": "status",
}


def _build_truth(reader: MLTreeReader, arrays: ak.Array) -> ak.Array:
    """Collect the truth-particle list of each event."""
    columns = {"pdg_id": ak.values_astype(arrays[schema.TRUTH_PDG_ID], np.int32)}
    for branch, name in _TRUTH_FIELDS.items():
        if branch in arrays.fields and ak.all(ak.num(arrays[branch], axis=1) == ak.num(columns["pdg_id"], axis=1)):
            columns[name] = arrays[branch]
    return ak.zip(columns)
