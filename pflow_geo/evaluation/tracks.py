"""Per-track energy bookkeeping: subtraction residual, E/p and the neutral energy left behind.

Definitions, all per focus track and over the cells of its cloud, with cell
energies ``E`` at EM scale in GeV:

* true focal energy ``E_true = sum(E * frac_focus)``: the part of the measured
  EM-scale cell signal that the truth-energy shares attribute to the focus
  particle. It is not the particle's energy, nor ``focus_truth_energy`` (the
  calibration-hit total, which also counts invisible and escaped energy), so a
  perfect assignment gives zero residual even though the calorimeter
  response ``E_true / p`` is below one.
* predicted focal energy ``E_pred = sum(E)`` over the cells the method assigns
  to the track (probability > threshold), whatever their truth content.
* residual ``(E_pred - E_true) / E_true``, NaN when ``E_true <= 0``.
* true neutral energy ``sum(E * frac_neutral)`` over all cells, and neutral
  energy left ``sum(E * frac_neutral)`` over the cells not assigned to the
  track. Ideally the two are equal: subtraction keeps the neutral energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .predictions import DEFAULT_THRESHOLD, column, predicted_mask

__all__ = ["TrackSummary", "summarize_tracks"]


@dataclass(frozen=True)
class TrackSummary:
    """Per-track energies of one method, one entry per track in the table.

    Tracks are sorted by ``(event_number, entry, track_index)``. Energies are in GeV.

    Attributes:
        event_number: Event number, int64.
        entry: Entry of the event in its ``EventTree``, int64.
        track_index: Index of the track within the event, int64.
        track_pt: Track transverse momentum.
        track_eta: Track pseudorapidity at the reference layer.
        track_p: Track momentum ``pT * cosh(eta)``.
        num_cells: Number of cells in the track's cloud, int64.
        true_energy: True focal energy ``sum(E * frac_focus)``.
        predicted_energy: Energy of the cells assigned to the track.
        residual: ``(predicted_energy - true_energy) / true_energy``, NaN when ``true_energy <= 0``.
        true_neutral_energy: ``sum(E * frac_neutral)`` over all cells.
        neutral_energy_left: ``sum(E * frac_neutral)`` over the cells not assigned to the track.
    """

    event_number: np.ndarray
    entry: np.ndarray
    track_index: np.ndarray
    track_pt: np.ndarray
    track_eta: np.ndarray
    track_p: np.ndarray
    num_cells: np.ndarray
    true_energy: np.ndarray
    predicted_energy: np.ndarray
    residual: np.ndarray
    true_neutral_energy: np.ndarray
    neutral_energy_left: np.ndarray

    @property
    def num_tracks(self) -> int:
        """Number of tracks."""
        return int(self.event_number.shape[0])

    @property
    def true_e_over_p(self) -> np.ndarray:
        """``true_energy / track_p``."""
        return self.true_energy / self.track_p

    @property
    def predicted_e_over_p(self) -> np.ndarray:
        """``predicted_energy / track_p``."""
        return self.predicted_energy / self.track_p


def summarize_tracks(table: pa.Table, method: str, threshold: float = DEFAULT_THRESHOLD) -> TrackSummary:
    """Sum the true, predicted and neutral energies of every track for one method.

    Args:
        table: A prediction table from :func:`~pflow_geo.evaluation.predictions.build_table`.
        method: The method whose ``prob_<method>`` column is used.
        threshold: Probability above which a cell is assigned to the track.

    Returns:
        The per-track energies, defined in this module's docstring.

    Raises:
        KeyError: If the table has no column for the method.
    """
    predicted = predicted_mask(table, method, threshold)
    keys = np.stack([column(table, "event_number"), column(table, "entry"), column(table, "track_index")], axis=1)
    track_keys, first_row, track_of_row = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    track_of_row = track_of_row.reshape(-1)
    num_tracks = track_keys.shape[0]

    energy = column(table, "energy").astype(np.float64)
    focus_energy = energy * column(table, "frac_focus")
    neutral_energy = energy * column(table, "frac_neutral")

    def per_track(values: np.ndarray) -> np.ndarray:
        return np.bincount(track_of_row, weights=values, minlength=num_tracks)

    true_energy = per_track(focus_energy)
    predicted_energy = per_track(np.where(predicted, energy, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = np.where(true_energy > 0, (predicted_energy - true_energy) / true_energy, np.nan)

    track_pt = column(table, "track_pt").astype(np.float64)[first_row]
    track_eta = column(table, "track_eta").astype(np.float64)[first_row]
    return TrackSummary(
        event_number=track_keys[:, 0],
        entry=track_keys[:, 1],
        track_index=track_keys[:, 2],
        track_pt=track_pt,
        track_eta=track_eta,
        track_p=track_pt * np.cosh(track_eta),
        num_cells=np.bincount(track_of_row, minlength=num_tracks).astype(np.int64),
        true_energy=true_energy,
        predicted_energy=predicted_energy,
        residual=residual,
        true_neutral_energy=per_track(neutral_energy),
        neutral_energy_left=per_track(np.where(predicted, 0.0, neutral_energy)),
    )
