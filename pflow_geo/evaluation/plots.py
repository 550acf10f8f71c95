"""Figures of the evaluation report, each drawn from the prediction table or per-track summaries.

Every function returns a matplotlib ``Figure`` built without pyplot, so no
global backend state is touched; save it with ``figure.savefig(path)``.
Energies are in GeV. Methods keep one colour across all figures, taken from
their position in ``methods``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..geometry import Sampling
from .binned import DEFAULT_EDGES, binned_quantiles, binned_rates
from .curves import Curve, precision_recall_curve, reliability_curve, roc_curve
from .predictions import DEFAULT_THRESHOLD, column, probability_column
from .tracks import TrackSummary

__all__ = [
    "RESIDUAL_RANGE",
    "method_colors",
    "curve_weights",
    "plot_roc",
    "plot_precision_recall",
    "plot_binned_rates",
    "plot_residual_distribution",
    "plot_residual_vs_pt",
    "plot_reliability",
    "plot_neutral_energy",
]

# Residuals outside this range are drawn in the first or last histogram bin.
RESIDUAL_RANGE = (-1.0, 2.0)

_VARIABLE_LABELS = {
    "track_pt": "track $p_T$ [GeV]",
    "abs_track_eta": r"track $|\eta|$",
    "delta_r": r"cell $\Delta R$ to track",
    "layer": "calorimeter layer",
}


def method_colors(methods: Sequence[str]) -> dict[str, str]:
    """Return a fixed colour per method from the ``tab10`` cycle, by position."""
    return {method: f"C{index % 10}" for index, method in enumerate(methods)}


def curve_weights(table: pa.Table, weighted: bool) -> np.ndarray | None:
    """Return ``|cell energy|`` as curve weights, as :mod:`pflow_geo.metrics` does, or None for unweighted curves."""
    if not weighted:
        return None
    return np.abs(column(table, "energy").astype(np.float64))


def plot_roc(
    table: pa.Table, methods: Sequence[str], weighted: bool, threshold: float = DEFAULT_THRESHOLD
) -> Figure:
    """Draw the ROC curves of all methods on one axis, each with its operating point at ``threshold``."""
    figure, axis = _draw_curves(table, methods, weighted, threshold, roc_curve)
    suffix = " (energy-weighted)" if weighted else ""
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    axis.set_xlabel("false-positive rate" + suffix)
    axis.set_ylabel("true-positive rate" + suffix)
    axis.set_title("ROC, " + ("energy-weighted" if weighted else "unweighted"))
    axis.legend(loc="lower right", fontsize="small")
    return figure


def plot_precision_recall(
    table: pa.Table, methods: Sequence[str], weighted: bool, threshold: float = DEFAULT_THRESHOLD
) -> Figure:
    """Draw the precision-recall curves of all methods on one axis, with operating points."""
    figure, axis = _draw_curves(table, methods, weighted, threshold, precision_recall_curve)
    axis.set_xlabel("recall (efficiency)")
    axis.set_ylabel("precision (purity)")
    axis.set_xlim(0.0, 1.02)
    axis.set_ylim(0.0, 1.02)
    axis.set_title("precision-recall, " + ("energy-weighted" if weighted else "unweighted"))
    axis.legend(loc="lower left", fontsize="small")
    return figure


def plot_binned_rates(
    table: pa.Table,
    methods: Sequence[str],
    variable: str,
    threshold: float = DEFAULT_THRESHOLD,
    edges: Sequence[float] | None = None,
) -> Figure:
    """Draw energy-weighted efficiency and purity against one variable, one line per method."""
    figure = Figure(figsize=(10.0, 4.2))
    efficiency_axis, purity_axis = figure.subplots(1, 2)
    for method, color in method_colors(methods).items():
        rates = binned_rates(table, method, variable, edges=edges, threshold=threshold)
        if rates.categories is not None:
            x = np.arange(rates.categories.shape[0])
            for axis, values in ((efficiency_axis, rates.efficiency), (purity_axis, rates.purity)):
                axis.plot(x, values, marker="o", color=color, label=method)
        else:
            for axis, values in ((efficiency_axis, rates.efficiency), (purity_axis, rates.purity)):
                axis.stairs(
                    values, rates.edges, baseline=None, color=color, label=method, linewidth=1.5
                )

    for axis, name in ((efficiency_axis, "efficiency"), (purity_axis, "purity")):
        axis.set_ylabel(f"energy-weighted {name}")
        axis.set_xlabel(_VARIABLE_LABELS[variable])
        axis.set_ylim(0.0, 1.05)
        if rates.categories is not None:
            axis.set_xticks(
                np.arange(rates.categories.shape[0]),
                _layer_names(rates.categories),
                rotation=60,
                ha="right",
                rotation_mode="anchor",
                fontsize="small",
            )
    efficiency_axis.legend(fontsize="small")
    figure.tight_layout()
    return figure


def plot_residual_distribution(summaries: Mapping[str, TrackSummary]) -> Figure:
    """Draw the per-track residual ``(E_pred - E_true) / E_true`` of each method as a histogram."""
    figure = Figure(figsize=(6.0, 4.5))
    axis = figure.add_subplot()
    bins = np.linspace(*RESIDUAL_RANGE, 61)
    for method, color in method_colors(list(summaries)).items():
        residual = summaries[method].residual
        residual = np.clip(residual[np.isfinite(residual)], bins[0], bins[-1])
        axis.hist(residual, bins=bins, histtype="step", color=color, label=method, linewidth=1.5)
    axis.set_xlabel(r"$(E_\mathrm{pred} - E_\mathrm{true}) / E_\mathrm{true}$ per track")
    axis.set_ylabel("tracks")
    axis.set_title(f"residual (clipped to [{RESIDUAL_RANGE[0]:g}, {RESIDUAL_RANGE[1]:g}])")
    axis.legend(fontsize="small")
    return figure


def plot_residual_vs_pt(summaries: Mapping[str, TrackSummary], edges: Sequence[float] | None = None) -> Figure:
    """Draw the median residual with its interquartile band, and the IQR, against track pT."""
    edges = np.asarray(DEFAULT_EDGES["track_pt"] if edges is None else edges, dtype=np.float64)
    centres = 0.5 * (edges[:-1] + edges[1:])
    figure = Figure(figsize=(10.0, 4.2))
    median_axis, iqr_axis = figure.subplots(1, 2)
    for method, color in method_colors(list(summaries)).items():
        summary = summaries[method]
        quantiles = binned_quantiles(summary.track_pt, summary.residual, edges)
        median_axis.plot(centres, quantiles.median, marker="o", color=color, label=method)
        median_axis.fill_between(centres, quantiles.lower, quantiles.upper, color=color, alpha=0.15)
        iqr_axis.plot(centres, quantiles.iqr, marker="o", color=color, label=method)
    median_axis.axhline(0.0, color="grey", linestyle=":", linewidth=0.8)
    median_axis.set_ylabel("median residual (band: 25-75%)")
    iqr_axis.set_ylabel("IQR of residual")
    for axis in (median_axis, iqr_axis):
        axis.set_xlabel(_VARIABLE_LABELS["track_pt"] + " (bin centre)")
    median_axis.legend(fontsize="small")
    figure.tight_layout()
    return figure


def plot_reliability(table: pa.Table, methods: Sequence[str], weighted: bool = False, num_bins: int = 10) -> Figure:
    """Draw the reliability (calibration) curve of each method against the diagonal."""
    figure = Figure(figsize=(5.5, 5.0))
    axis = figure.add_subplot()
    labels = column(table, "label")
    weights = curve_weights(table, weighted)
    for method, color in method_colors(methods).items():
        curve = reliability_curve(labels, column(table, probability_column(method)), weights, num_bins=num_bins)
        filled = np.isfinite(curve.mean_probability)
        axis.plot(curve.mean_probability[filled], curve.positive_fraction[filled], marker="o", color=color, label=method)
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    axis.set_xlabel("mean predicted probability")
    axis.set_ylabel("fraction of focus cells" + (" (energy-weighted)" if weighted else ""))
    axis.set_title("reliability")
    axis.legend(loc="upper left", fontsize="small")
    return figure


def plot_neutral_energy(summaries: Mapping[str, TrackSummary]) -> Figure:
    """Draw, per method, the neutral energy left after subtraction against the true neutral energy per track."""
    methods = list(summaries)
    columns = min(len(methods), 3)
    rows = -(-len(methods) // columns)
    figure = Figure(figsize=(4.0 * columns, 3.8 * rows))
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).reshape(-1)
    for axis, (method, color) in zip(axes, method_colors(methods).items()):
        summary = summaries[method]
        has_neutral = summary.true_neutral_energy > 0
        true_neutral = summary.true_neutral_energy[has_neutral]
        left = summary.neutral_energy_left[has_neutral]
        axis.scatter(true_neutral, left, s=6, color=color, alpha=0.6)
        top = max(float(true_neutral.max(initial=0.0)), float(left.max(initial=0.0)), 1e-3)
        axis.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=0.8)
        kept_fraction = left.sum() / true_neutral.sum() if true_neutral.sum() > 0 else float("nan")
        axis.set_title(f"{method}: {kept_fraction:.1%} of neutral energy kept", fontsize="medium")
        axis.set_xlabel("true neutral energy per track [GeV]")
        axis.set_ylabel("neutral energy left [GeV]")
    for axis in axes[len(methods) :]:
        axis.set_visible(False)
    figure.tight_layout()
    return figure


def _draw_curves(
    table: pa.Table,
    methods: Sequence[str],
    weighted: bool,
    threshold: float,
    compute_curve: Callable[[np.ndarray, np.ndarray, np.ndarray | None], Curve],
) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(5.5, 5.0))
    axis = figure.add_subplot()
    labels = column(table, "label")
    weights = curve_weights(table, weighted)
    for method, color in method_colors(methods).items():
        curve = compute_curve(labels, column(table, probability_column(method)), weights)
        _draw_curve(axis, curve, method, color, threshold)
    return figure, axis


def _draw_curve(axis: Axes, curve: Curve, method: str, color: str, threshold: float) -> None:
    axis.plot(curve.x, curve.y, color=color, label=method, linewidth=1.5)
    # The operating point is the last curve point whose cells all lie above the working threshold.
    above = np.flatnonzero(curve.thresholds > threshold)
    if above.size:
        point = above[-1]
        axis.plot(curve.x[point], curve.y[point], marker="o", color=color, markersize=6)


def _layer_names(layers: np.ndarray) -> list[str]:
    names = []
    for layer in layers.tolist():
        try:
            names.append(Sampling(layer).name)
        except ValueError:
            names.append(str(layer))
    return names
