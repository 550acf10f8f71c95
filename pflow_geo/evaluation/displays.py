"""Event displays of single tracks in eta-phi, per layer group, drawn from the prediction table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..geometry import Sampling, delta_phi
from .predictions import DEFAULT_THRESHOLD, column, predicted_mask
from .tracks import TrackSummary

__all__ = ["LAYER_GROUPS", "DisplayedTrack", "select_display_tracks", "plot_event_display"]

# Layer groups drawn as separate rows: EM calorimeter with presamplers, hadronic (HEC and Tile), FCal.
LAYER_GROUPS: dict[str, frozenset[int]] = {
    "EM": frozenset(range(int(Sampling.PreSamplerB), int(Sampling.EME3) + 1)),
    "hadronic": frozenset(range(int(Sampling.HEC0), int(Sampling.TileExt2) + 1)),
    "FCal": frozenset(range(int(Sampling.FCAL0), int(Sampling.FCAL2) + 1)),
}

_FOCUS_COLOR = "tab:red"
_OTHER_COLOR = "tab:blue"
# Outcome colours: true positive, false positive, false negative, true negative.
_OUTCOME_COLORS = ("tab:green", "tab:orange", "tab:purple", "lightgrey")
_OUTCOME_NAMES = ("assigned, focus", "assigned, not focus", "missed focus", "left, not focus")


@dataclass(frozen=True)
class DisplayedTrack:
    """A track chosen for an event display.

    Attributes:
        event_number: Event number.
        entry: Entry of the event in its ``EventTree``.
        track_index: Index of the track within the event.
        reason: Why it was chosen: ``worst`` (largest energy error) or ``typical`` (residual near the median).
        residual: The track's energy residual for the method it was chosen by.
    """

    event_number: int
    entry: int
    track_index: int
    reason: str
    residual: float


def select_display_tracks(summary: TrackSummary, num_worst: int = 2, num_typical: int = 2) -> list[DisplayedTrack]:
    """Pick the tracks with the largest energy error and those whose residual is closest to the median.

    The worst tracks have the largest ``|E_pred - E_true|`` in GeV. The
    relative residual would pick tracks with almost no true focal energy,
    where any assigned cell gives a huge ratio. Tracks without a finite
    residual (no true focal energy) are never picked, and a track picked as
    worst is not picked again as typical.
    """
    finite = np.flatnonzero(np.isfinite(summary.residual))
    if finite.size == 0:
        return []
    residual = summary.residual[finite]
    energy_error = np.abs(summary.predicted_energy[finite] - summary.true_energy[finite])
    worst = finite[np.argsort(-energy_error, kind="stable")[:num_worst]]
    closeness = np.abs(residual - np.median(residual))
    typical = [index for index in finite[np.argsort(closeness, kind="stable")] if index not in worst][:num_typical]

    def displayed(index: int, reason: str) -> DisplayedTrack:
        return DisplayedTrack(
            event_number=int(summary.event_number[index]),
            entry=int(summary.entry[index]),
            track_index=int(summary.track_index[index]),
            reason=reason,
            residual=float(summary.residual[index]),
        )

    return [displayed(index, "worst") for index in worst] + [displayed(index, "typical") for index in typical]


def plot_event_display(
    table: pa.Table,
    track: DisplayedTrack,
    method: str,
    threshold: float = DEFAULT_THRESHOLD,
) -> Figure:
    """Draw the cells of one track in (Δeta, Δphi) around the track's reference direction.

    One row per layer group with cells; the columns show the truth label, the
    method's assignment and the outcome (true/false positive/negative). Marker
    area grows with ``log(1 + E / 10 MeV)``. Crosses mark the focus track's
    intersection with each layer of the group.

    NOTE: other tracks' intersections are not drawn, because the prediction
    table stores only cells.

    Raises:
        ValueError: If the table has no cell of the track.
    """
    rows = np.flatnonzero(
        (column(table, "event_number") == track.event_number)
        & (column(table, "entry") == track.entry)
        & (column(table, "track_index") == track.track_index)
    )
    if rows.size == 0:
        raise ValueError(
            f"no cells of track (event {track.event_number}, entry {track.entry}, index {track.track_index}) in the table"
        )
    reference_eta = float(column(table, "track_eta")[rows[0]])
    reference_phi = float(column(table, "track_phi")[rows[0]])
    cells = {
        "deta": column(table, "eta")[rows] - reference_eta,
        "dphi": delta_phi(column(table, "phi")[rows].astype(np.float64), reference_phi),
        "track_deta": column(table, "track_layer_eta")[rows] - reference_eta,
        "track_dphi": delta_phi(column(table, "track_layer_phi")[rows].astype(np.float64), reference_phi),
        "layer": column(table, "layer")[rows],
        "size": 4.0 + 12.0 * np.log1p(np.clip(column(table, "energy")[rows], 0.0, None) / 0.01),
        "label": column(table, "label")[rows] == 1,
        "predicted": predicted_mask(table, method, threshold)[rows],
    }
    groups = [(name, layers) for name, layers in LAYER_GROUPS.items() if np.isin(cells["layer"], list(layers)).any()]
    unknown = ~np.isin(cells["layer"], [layer for layers in LAYER_GROUPS.values() for layer in layers])
    if unknown.any():
        groups.append(("other", frozenset(np.unique(cells["layer"][unknown]).tolist())))

    figure = Figure(figsize=(12.0, 3.8 * len(groups)))
    axes = figure.subplots(len(groups), 3, squeeze=False)
    for row, (group_name, layers) in enumerate(groups):
        in_group = np.isin(cells["layer"], list(layers))
        _draw_panels(axes[row], cells, in_group, group_name)

    axes[0, 0].legend(
        handles=[_legend_dot(_FOCUS_COLOR, "focus track"), _legend_dot(_OTHER_COLOR, "other"), _legend_cross()],
        fontsize="x-small",
        loc="upper right",
    )
    axes[0, 2].legend(
        handles=[_legend_dot(color, name) for color, name in zip(_OUTCOME_COLORS, _OUTCOME_NAMES)],
        fontsize="x-small",
        loc="upper right",
    )
    figure.suptitle(
        f"event {track.event_number}, entry {track.entry}, track {track.track_index} ({track.reason}): "
        f"pT {float(column(table, 'track_pt')[rows[0]]):.1f} GeV, eta {reference_eta:.2f}, "
        f"{method} residual {track.residual:+.2f}"
    )
    figure.tight_layout()
    return figure


def _draw_panels(axes: Sequence, cells: dict[str, np.ndarray], in_group: np.ndarray, group_name: str) -> None:
    truth_colors = np.where(cells["label"], _FOCUS_COLOR, _OTHER_COLOR)[in_group]
    prediction_colors = np.where(cells["predicted"], _FOCUS_COLOR, _OTHER_COLOR)[in_group]
    outcome = np.select(
        [cells["label"] & cells["predicted"], ~cells["label"] & cells["predicted"], cells["label"] & ~cells["predicted"]],
        [0, 1, 2],
        default=3,
    )
    outcome_colors = np.asarray(_OUTCOME_COLORS)[outcome][in_group]
    titles = ("truth", "prediction", "outcome")
    for axis, colors, title in zip(axes, (truth_colors, prediction_colors, outcome_colors), titles):
        axis.scatter(
            cells["deta"][in_group], cells["dphi"][in_group], s=cells["size"][in_group], c=colors, alpha=0.75, linewidths=0
        )
        _mark_intersections(axis, cells, in_group)
        axis.set_title(f"{group_name} layers: {title}", fontsize="medium")
        axis.set_xlabel(r"$\Delta\eta$ to track")
        axis.set_ylabel(r"$\Delta\phi$ to track [rad]")
        axis.set_aspect("equal", adjustable="datalim")


def _mark_intersections(axis, cells: dict[str, np.ndarray], in_group: np.ndarray) -> None:
    known = in_group & np.isfinite(cells["track_deta"]) & np.isfinite(cells["track_dphi"])
    for layer in np.unique(cells["layer"][known]).tolist():
        first = np.flatnonzero(known & (cells["layer"] == layer))[0]
        axis.plot(cells["track_deta"][first], cells["track_dphi"][first], marker="x", color="black", markersize=8)


def _legend_dot(color: str, label: str) -> Line2D:
    return Line2D([], [], marker="o", linestyle="", color=color, label=label)


def _legend_cross() -> Line2D:
    return Line2D([], [], marker="x", linestyle="", color="black", label="track at layer")
