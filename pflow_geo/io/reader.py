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
from typing import Literal

import awkward as ak
import numpy as np

from ..errors import MLTreeInputError
from . import schema
from .cellgeo import CellGeometry, read_cell_geometry
from .convert import (  # noqa: F401 (the count keys are part of this module's interface)
    CELL_ENERGY_NOT_FINITE,
    CELL_NOT_IN_GEOMETRY,
    LAYER_NOT_FINITE,
    LAYER_SENTINEL,
    SHARED_CELL_MERGED,
    TRACK_NOT_FINITE,
    TRUTH_ENERGY_NOT_FINITE,
    TRUTH_LIST_TRUNCATED,
    UNEQUAL_TRACK_VECTORS,
    UNSIGNED_UNMATCHED_INDEX,
    convert_events,
)
from .files import get_tree, open_root_file, read_branches, tree_branch_names
from .summary import ReadSummary
from .units import check_units

__all__ = ["EventChunk", "MLTreeReader", "check_event_branches", "missing_event_branches"]

log = logging.getLogger(__name__)

EnergyUnit = Literal["MeV", "GeV"]
_MEV_PER_UNIT = {"MeV": 1.0, "GeV": 1e3}

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
    def branches(self) -> list[str]:
        """Names of the ``EventTree`` branches this reader reads: the required ones and the optional ones present."""
        return list(self._branches)

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
    truth_energy_scale = _MEV_PER_UNIT[reader.truth_energy_unit] * 1e-3
    keep, arrays, cells, tracks, truth = convert_events(arrays, reader.geometry, truth_energy_scale, summary, reader.path)
    summary.events_kept += len(arrays)
    return EventChunk(
        path=reader.path,
        entry=np.arange(entry_start, entry_start + num_read, dtype=np.int64)[keep],
        event_number=ak.to_numpy(arrays[schema.EVENT_NUMBER]).astype(np.int64),
        tracks=tracks,
        cells=cells,
        truth=truth,
        geometry=reader.geometry,
    )
