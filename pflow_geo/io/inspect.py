"""Inspect an MLTree file: trees, branches, entry counts, known pitfalls and units.

The pitfall counts and unit checks come from reading the first events with
:class:`~pflow_geo.io.reader.MLTreeReader`, so they show what processing the
file will skip or correct. ``pflow-geo inspect`` prints the report.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from ..errors import MLTreeInputError
from . import reader as reader_module
from . import schema
from .cellgeo import CellGeometry, missing_geo_branches, read_cell_geometry
from .files import get_tree, is_rntuple, list_objects, open_root_file, tree_branch_names
from .reader import EnergyUnit, MLTreeReader, check_event_branches, missing_event_branches
from .summary import ReadSummary
from .units import UnitCheck, check_units

__all__ = ["DEFAULT_NUM_EVENTS", "InspectionReport", "PitfallCount", "TreeReport", "inspect_mltree"]

# Events read for the pitfall and unit checks when the caller gives no number.
DEFAULT_NUM_EVENTS = 300


@dataclass(frozen=True)
class _Pitfall:
    name: str
    description: str
    action: str
    key: tuple[str, str]
    skipped: bool


# Each known MLTree pitfall: report name, what is counted, what the reader
# does, the ReadSummary key, and whether that key counts skipped items.
_PITFALLS: tuple[_Pitfall, ...] = tuple(
    _Pitfall(*row)
    for row in (
        ("truth_lists_longer_than_cells", "clusters whose per-cell truth lists are longer than the cell list", "truncated to the kept cells", reader_module.TRUTH_LIST_TRUNCATED, False),
        ("unsigned_unmatched_truth_index", "tracks with unsigned trackTruthParticleIndex 4294967295", "read as unmatched (-1)", reader_module.UNSIGNED_UNMATCHED_INDEX, False),
        ("unequal_track_vectors", "events with per-track vectors of unequal length", "event skipped", reader_module.UNEQUAL_TRACK_VECTORS, True),
        ("layer_sentinels", "track layers with the -1e9 no-intersection sentinel", "layer treated as not crossed", reader_module.LAYER_SENTINEL, False),
        ("shared_cells", "cells shared by several clusters", "merged into one cell, energies summed", reader_module.SHARED_CELL_MERGED, False),
        ("cells_not_in_cell_geo", "cells whose ID is not in CellGeo", "cell skipped", reader_module.CELL_NOT_IN_GEOMETRY, True),
        ("non_finite_cell_energy", "cells with a NaN or infinite energy", "cell skipped", reader_module.CELL_ENERGY_NOT_FINITE, True),
        ("non_finite_truth_energy", "per-cell truth contributions with a NaN or infinite energy", "contribution skipped", reader_module.TRUTH_ENERGY_NOT_FINITE, True),
        ("non_finite_track", "tracks with a NaN or infinite pt, eta or phi", "track skipped", reader_module.TRACK_NOT_FINITE, True),
        ("non_finite_layer_value", "track layer extrapolations that are NaN or infinite", "layer treated as not crossed", reader_module.LAYER_NOT_FINITE, False),
    )
)


@dataclass
class TreeReport:
    """Contents of one tree of an inspected file.

    Attributes:
        name: ``EventTree`` or ``CellGeo``.
        path: The file that contains the tree.
        kind: ``"TTree"`` or ``"RNTuple"``.
        entries: Number of entries.
        branches: Sorted names of all top-level branches (TTree) or fields (RNTuple).
        required_missing: Required branches that are not present.
        optional_present: Optional branches the reader uses that are present.
    """

    name: str
    path: str
    kind: str
    entries: int
    branches: list[str]
    required_missing: list[str]
    optional_present: list[str]

    def to_dict(self) -> dict:
        """Return the tree report as a JSON-serialisable dictionary."""
        return asdict(self)


@dataclass(frozen=True)
class PitfallCount:
    """How often one known MLTree pitfall occurred in the events read.

    Attributes:
        name: Short key, e.g. ``"shared_cells"``.
        description: What was counted.
        action: What the reader does with each counted item.
        count: Number of items counted.
    """

    name: str
    description: str
    action: str
    count: int

    def to_dict(self) -> dict:
        """Return the count as a JSON-serialisable dictionary."""
        return asdict(self)


@dataclass
class InspectionReport:
    """Result of :func:`inspect_mltree`.

    Attributes:
        path: The inspected file.
        cell_geo_path: The file ``CellGeo`` was read from.
        objects: For each opened file, the class name of each top-level object.
        trees: ``EventTree`` and ``CellGeo``, for those that could be read.
        track_truth_index_type: Type name of ``trackTruthParticleIndex`` as
            stored, or None when the branch was not reached.
        events_checked: Number of events read for the pitfall and unit checks.
        pitfalls: One count per known pitfall, empty when no event was read.
        summary: All skip and correction counts of the read, or None.
        units: The unit checks, empty when no event was read.
        errors: Problems that make the file unusable.
        warnings: Problems that do not stop the file from being used.
    """

    path: str
    cell_geo_path: str
    objects: dict[str, dict[str, str]] = field(default_factory=dict)
    trees: list[TreeReport] = field(default_factory=list)
    track_truth_index_type: str | None = None
    events_checked: int = 0
    pitfalls: list[PitfallCount] = field(default_factory=list)
    summary: ReadSummary | None = None
    units: list[UnitCheck] = field(default_factory=list)
    errors: list[MLTreeInputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Whether the file can be read for processing."""
        return not self.errors

    def tree(self, name: str) -> TreeReport | None:
        """Return the report of tree ``name``, or None when it could not be read."""
        return next((tree for tree in self.trees if tree.name == name), None)

    def to_dict(self) -> dict:
        """Return the report as a JSON-serialisable dictionary."""
        return {
            "path": self.path,
            "cell_geo_path": self.cell_geo_path,
            "usable": self.usable,
            "objects": self.objects,
            "trees": [tree.to_dict() for tree in self.trees],
            "track_truth_index_type": self.track_truth_index_type,
            "events_checked": self.events_checked,
            "pitfalls": [pitfall.to_dict() for pitfall in self.pitfalls],
            "summary": None if self.summary is None else self.summary.to_dict(),
            "units": [check.to_dict() for check in self.units],
            "errors": [str(error) for error in self.errors],
            "warnings": self.warnings,
        }

    def lines(self) -> list[str]:
        """Return the report as human-readable lines, without the error messages."""
        out = [f"file: {self.path}", f"cell geometry: {self.cell_geo_path}"]
        for path, objects in self.objects.items():
            listed = ", ".join(f"{name} ({classname})" for name, classname in sorted(objects.items())) or "none"
            out.append(f"objects in {path}: {listed}")
        for tree in self.trees:
            out += ["", *_tree_lines(tree)]
            if tree.name == schema.EVENT_TREE and self.track_truth_index_type is not None:
                out.append(f"  {schema.TRACK_TRUTH_INDEX} stored as: {self.track_truth_index_type}")

        if self.summary is not None:
            out += ["", *_check_lines(self)]
        if self.warnings:
            out += ["", "warnings:", *(f"  {warning}" for warning in self.warnings)]
        out.append("")
        if self.usable:
            out.append("result: usable")
        else:
            out.append(f"result: not usable ({len(self.errors)} error(s))")
        return out


def inspect_mltree(
    path: str | os.PathLike[str],
    cell_geo: str | os.PathLike[str] | None = None,
    *,
    num_events: int = DEFAULT_NUM_EVENTS,
    truth_energy_unit: EnergyUnit = "MeV",
) -> InspectionReport:
    """Check an MLTree file and report everything that matters for reading it.

    Every problem the reader would raise is recorded in ``errors`` instead of
    raised, so that one call reports as much as the file allows, e.g. both a
    missing ``EventTree`` branch and a missing ``CellGeo`` branch.

    Args:
        path: ROOT file with ``EventTree`` (and ``CellGeo`` unless ``cell_geo`` is given).
        cell_geo: A separate file with the ``CellGeo`` tree.
        num_events: Number of events, from the first, read for the pitfall and unit checks.
        truth_energy_unit: Unit of ``cluster_cell_hitsTruthE`` in the file. MLTree writes MeV.

    Returns:
        The report; ``report.usable`` is False when any error was found.

    Raises:
        ValueError: If ``num_events`` is not positive or the unit is unknown.
    """
    if num_events < 1:
        raise ValueError(f"num_events must be a positive number of events, got {num_events}")
    if truth_energy_unit not in ("MeV", "GeV"):
        raise ValueError(f"truth_energy_unit must be 'MeV' or 'GeV', got {truth_energy_unit!r}")
    path = os.fspath(path)
    geo_path = path if cell_geo is None else os.fspath(cell_geo)
    report = InspectionReport(path=path, cell_geo_path=geo_path)

    opened: list[Any] = []
    try:
        event_file = _open(report, path, opened)
        geo_file = event_file if cell_geo is None else _open(report, geo_path, opened)
        event_tree = None
        if event_file is not None:
            event_tree = _inspect_tree(report, event_file, schema.EVENT_TREE, path, missing_event_branches, schema.OPTIONAL_EVENT_BRANCHES)
        geometry = _read_geometry(report, geo_file, geo_path)
        if event_tree is None:
            return report

        try:
            check_event_branches(tree_branch_names(event_tree), path)
        except MLTreeInputError as error:
            report.errors.append(error)
            return report
        report.track_truth_index_type = str(event_tree[schema.TRACK_TRUTH_INDEX].typename)
        if geometry is not None:
            _check_events(report, geometry, num_events, truth_energy_unit)
    finally:
        for root_file in opened:
            root_file.close()
    return report


def _open(report: InspectionReport, path: str, opened: list[Any]) -> Any:
    """Open a file and list its objects, or record the error and return None."""
    try:
        root_file = open_root_file(path)
    except MLTreeInputError as error:
        report.errors.append(error)
        return None
    opened.append(root_file)
    try:
        objects = list_objects(root_file, path)
    except MLTreeInputError as error:
        report.errors.append(error)
        return None
    report.objects[path] = {name: classname.removeprefix("ROOT::") for name, classname in objects.items()}
    return root_file


def _inspect_tree(
    report: InspectionReport,
    root_file: Any,
    name: str,
    path: str,
    find_missing: Callable[[Iterable[str]], list[str]],
    optional: Iterable[str],
) -> Any:
    """Describe one tree in ``report.trees`` and return it, or record the error and return None."""
    try:
        tree = get_tree(root_file, name, path)
    except MLTreeInputError as error:
        report.errors.append(error)
        return None
    branches = tree_branch_names(tree)
    report.trees.append(
        TreeReport(
            name=name,
            path=path,
            kind="RNTuple" if is_rntuple(tree) else "TTree",
            entries=int(tree.num_entries),
            branches=sorted(branches),
            required_missing=find_missing(branches),
            optional_present=[branch for branch in optional if branch in branches],
        )
    )
    return tree


def _read_geometry(report: InspectionReport, geo_file: Any, geo_path: str) -> CellGeometry | None:
    """Describe and read ``CellGeo``, or record why it cannot be used and return None."""
    if geo_file is None:
        return None
    tree = _inspect_tree(report, geo_file, schema.CELL_GEO_TREE, geo_path, missing_geo_branches, schema.OPTIONAL_GEO_BRANCHES)
    if tree is None:
        return None
    try:
        return read_cell_geometry(geo_path, root_file=geo_file)
    except MLTreeInputError as error:
        report.errors.append(error)
        return None


def _check_events(report: InspectionReport, geometry: CellGeometry, num_events: int, truth_energy_unit: EnergyUnit) -> None:
    """Read the first events and record the pitfall counts and unit checks."""
    try:
        with MLTreeReader(report.path, geometry, step_size=num_events, truth_energy_unit=truth_energy_unit, check_units=False) as reader:
            stop = min(num_events, reader.num_events)
            if stop == 0:
                report.warnings.append("EventTree has no entries, so no pitfall or unit check was made")
                return
            chunk = reader.read(0, stop)
            summary = reader.summary
    except MLTreeInputError as error:
        report.errors.append(error)
        return

    report.events_checked = stop
    report.summary = summary
    for pitfall in _PITFALLS:
        counts = summary.skipped if pitfall.skipped else summary.corrected
        report.pitfalls.append(PitfallCount(pitfall.name, pitfall.description, pitfall.action, counts[pitfall.key]))
    if summary.events_kept == 0:
        report.warnings.append(f"none of the {summary.events_read} events read could be used")

    report.units = check_units(chunk, truth_energy_unit)
    report.errors.extend(check.error for check in report.units if check.error is not None)


def _tree_lines(tree: TreeReport) -> list[str]:
    entries = "1 entry" if tree.entries == 1 else f"{tree.entries} entries"
    return [
        f"{tree.name} in {tree.path}: {tree.kind}, {entries}, {len(tree.branches)} branches",
        f"  required branches missing: {', '.join(tree.required_missing) or 'none'}",
        f"  optional branches present: {', '.join(tree.optional_present) or 'none'}",
        f"  all branches: {', '.join(tree.branches) or 'none'}",
    ]


def _check_lines(report: InspectionReport) -> list[str]:
    summary = report.summary
    out = [
        f"checks over the first {report.events_checked} event(s), {summary.events_kept} kept:",
        *(f"  {p.description}: {p.count}, {p.action}" for p in report.pitfalls),
    ]
    named = {pitfall.key for pitfall in _PITFALLS}
    other = [
        *(f"  skipped {count} {item}(s): {reason}" for (item, reason), count in sorted(summary.skipped.items()) if (item, reason) not in named),
        *(f"  corrected {count} {item}(s): {reason}" for (item, reason), count in sorted(summary.corrected.items()) if (item, reason) not in named),
    ]
    if other:
        out += ["other skips and corrections:", *other]
    out.append("unit checks:")
    for check in report.units:
        if check.value is None:
            out.append(f"  {check.branch} in {check.expected_unit}: {check.note}")
        else:
            out.append(f"  {check.branch} in {check.expected_unit}: {check.status} ({check.statistic}: {check.value:.4g})")
    return out
