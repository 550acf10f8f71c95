"""Plausibility checks of the energy units of MLTree files.

MLTree stores cell energies in GeV but per-cell truth energies and the cell
noise in MeV. A file converted by hand, or written by another tool, can have
any of them in the other unit, which would silently scale features and labels
by 1000. The checks below look at medians of a chunk that the reader has
already converted to GeV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import awkward as ak
import numpy as np

from ..errors import MLTreeInputError
from . import schema

if TYPE_CHECKING:
    from .reader import EventChunk

__all__ = ["UnitCheck", "check_units", "MIN_CELLS_FOR_UNIT_CHECK"]

# Fewer cells than this give medians too noisy to judge a unit by.
MIN_CELLS_FOR_UNIT_CHECK = 20

# EM-scale cell energies above the 5 MeV cut have a median well below this
# many GeV; in MeV the median would be above it.
_MAX_MEDIAN_CELL_ENERGY_GEV = 20.0

# Bounds on the median ratio of a cell's truth (calibration-hit) energy to its
# EM-scale energy, both in GeV. The true ratio is about 1 to 3; a wrong unit
# moves it by a factor of 1000.
_TRUTH_RATIO_BOUNDS = (0.02, 50.0)

# Electronic noise of ATLAS calorimeter cells is about 10 MeV or more, so a
# median below 1 in the file means the values are in GeV.
_MIN_MEDIAN_NOISE_MEV = 1.0


@dataclass(frozen=True)
class UnitCheck:
    """Outcome of one unit check.

    Attributes:
        branch: The branch whose unit was checked.
        expected_unit: The unit the reader assumes for that branch.
        statistic: What ``value`` measures, with its unit.
        value: The measured value, or None when the check was not made.
        error: The error to raise when the check failed, else None.
        note: Why the check was not made, when ``value`` is None.
    """

    branch: str
    expected_unit: str
    statistic: str
    value: float | None
    error: MLTreeInputError | None = None
    note: str = ""

    @property
    def status(self) -> str:
        """``"passed"``, ``"failed"`` or ``"not checked"``."""
        if self.error is not None:
            return "failed"
        return "not checked" if self.value is None else "passed"

    def to_dict(self) -> dict:
        """Return the check as a JSON-serialisable dictionary."""
        return {
            "branch": self.branch,
            "expected_unit": self.expected_unit,
            "statistic": self.statistic,
            "value": self.value,
            "status": self.status,
            "error": None if self.error is None else str(self.error),
            "note": self.note,
        }


def check_units(chunk: EventChunk, truth_energy_unit: str = "MeV") -> list[UnitCheck]:
    """Check that cell energies look like GeV, truth energies like ``truth_energy_unit`` and noise like MeV.

    Args:
        chunk: Events as returned by ``MLTreeReader.read``, with truth
            energies and noise already converted to GeV.
        truth_energy_unit: The unit the reader assumed for ``cluster_cell_hitsTruthE``.

    Returns:
        One check each for ``cluster_cell_E``, ``cluster_cell_hitsTruthE``
        and the noise branch, in that order. A failed check carries the
        MLTreeInputError to raise, which names the file, the branch and the fix.
    """
    energy = ak.to_numpy(ak.flatten(chunk.cells.energy))
    cell_check = _check_cell_energy(chunk.path, energy)
    if cell_check.status == "passed":
        truth_check = _check_truth_energy(chunk, energy, truth_energy_unit)
    else:
        # The ratio is only meaningful once the cell energies are known to be in GeV.
        outcome = "failed" if cell_check.status == "failed" else "was not made"
        truth_check = UnitCheck(
            schema.CELL_TRUTH_ENERGY,
            truth_energy_unit,
            "median ratio of cell truth energy to cell energy",
            None,
            note=f"not checked because the {schema.CELL_ENERGY} check {outcome}",
        )
    return [cell_check, truth_check, _check_noise(chunk)]


def _check_cell_energy(path: str, energy: np.ndarray) -> UnitCheck:
    statistic = "median cell energy in GeV"
    if len(energy) < MIN_CELLS_FOR_UNIT_CHECK:
        note = f"not checked: {len(energy)} cells read, at least {MIN_CELLS_FOR_UNIT_CHECK} needed"
        return UnitCheck(schema.CELL_ENERGY, "GeV", statistic, None, note=note)

    median_energy = float(np.median(energy))
    error = None
    if median_energy > _MAX_MEDIAN_CELL_ENERGY_GEV:
        error = MLTreeInputError(
            path,
            f"cluster_cell_E looks like MeV: the median cell energy is {median_energy:.4g}, "
            f"expected GeV values well below {_MAX_MEDIAN_CELL_ENERGY_GEV:g}",
            item=schema.CELL_ENERGY,
            hint="MLTree stores cluster_cell_E in GeV; convert the file, or pass check_units=False if this is intended",
        )
    return UnitCheck(schema.CELL_ENERGY, "GeV", statistic, median_energy, error)


def _check_truth_energy(chunk: EventChunk, energy: np.ndarray, truth_energy_unit: str) -> UnitCheck:
    statistic = "median ratio of cell truth energy to cell energy"
    truth_total = ak.to_numpy(ak.flatten(ak.sum(chunk.cells.truth_energy, axis=2)))
    selected = (energy > 0.1) & (truth_total > 0)
    if selected.sum() < MIN_CELLS_FOR_UNIT_CHECK:
        note = (
            f"not checked: {int(selected.sum())} cells above 0.1 GeV with truth energy, "
            f"at least {MIN_CELLS_FOR_UNIT_CHECK} needed"
        )
        return UnitCheck(schema.CELL_TRUTH_ENERGY, truth_energy_unit, statistic, None, note=note)

    ratio = float(np.median(truth_total[selected] / energy[selected]))
    low, high = _TRUTH_RATIO_BOUNDS
    error = None
    if ratio > high or ratio < low:
        # A ratio 1000 times too small means the file is in GeV, 1000 times too large in MeV.
        actual = "GeV" if ratio < low else "MeV"
        if actual != truth_energy_unit:
            hint = f"pass truth_energy_unit={actual!r} (command line: --truth-energy-unit {actual})"
        else:
            hint = "the truth energies fit neither MeV nor GeV; check how the file was written"
        error = MLTreeInputError(
            chunk.path,
            f"cluster_cell_hitsTruthE does not look like {truth_energy_unit}: the median ratio of a cell's "
            f"truth energy to its energy is {ratio:.4g} after conversion, expected about 1 to 3",
            item=schema.CELL_TRUTH_ENERGY,
            hint=hint,
        )
    return UnitCheck(schema.CELL_TRUTH_ENERGY, truth_energy_unit, statistic, ratio, error)


def _check_noise(chunk: EventChunk) -> UnitCheck:
    geometry = chunk.geometry
    branch = geometry.noise_branch or " or ".join(schema.GEO_NOISE)
    statistic = "median cell noise in MeV"
    if geometry.noise is None:
        return UnitCheck(branch, "MeV", statistic, None, note="not checked: CellGeo has no noise branch")
    # Cells with zero noise (e.g. from a simulation without noise) carry no information about the unit.
    positive = geometry.noise[geometry.noise > 0]
    if len(positive) == 0:
        return UnitCheck(branch, "MeV", statistic, None, note="not checked: no cell has a positive noise value")

    median_noise_mev = float(np.median(positive)) * 1e3
    error = None
    if median_noise_mev < _MIN_MEDIAN_NOISE_MEV:
        error = MLTreeInputError(
            geometry.path,
            f"{branch} looks like GeV: the median cell noise is {median_noise_mev:.4g}, "
            f"expected MeV values of {_MIN_MEDIAN_NOISE_MEV:g} or more",
            item=branch,
            hint=f"MLTree stores {branch} in MeV; multiply it by 1000 in the geometry file, "
            "or pass check_units=False if the noise really is this small",
        )
    return UnitCheck(branch, "MeV", statistic, median_noise_mev, error)
