"""Evaluation report: Markdown page, PNG figures and a metrics dictionary, from the prediction table alone.

``write_report(table, output_dir)`` writes::

    output_dir/report.md      figures with captions and a table of headline figures
    output_dir/metrics.json   the dictionary returned by write_report
    output_dir/figures/*.png  one file per figure
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from .binned import BINNED_VARIABLES, DEFAULT_EDGES, binned_quantiles, binned_rates
from .displays import plot_event_display, select_display_tracks
from .plots import (
    plot_binned_rates,
    plot_neutral_energy,
    plot_precision_recall,
    plot_reliability,
    plot_residual_distribution,
    plot_residual_vs_pt,
    plot_roc,
)
from .predictions import DEFAULT_THRESHOLD, column, method_names
from .scores import headline_scores
from .tracks import TrackSummary, summarize_tracks

__all__ = ["write_report", "compute_metrics"]

logger = logging.getLogger(__name__)

_FIGURE_FOLDER = "figures"
# Metrics keys of the per-track table in report.md; the other numbers are cell scores.
_TRACK_KEYS = ("residual_median", "residual_iqr", "neutral_energy_kept_fraction")


@dataclass(frozen=True)
class _FigureSpec:
    filename: str
    title: str
    caption: str
    draw: Callable[[], Figure]


def write_report(
    table: pa.Table,
    output_dir: str | os.PathLike[str],
    methods: Sequence[str] | None = None,
    reference: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    num_worst: int = 2,
    num_typical: int = 2,
    dpi: int = 110,
) -> dict[str, Any]:
    """Write the evaluation report of a prediction table.

    Args:
        table: A prediction table from :func:`~pflow_geo.evaluation.predictions.build_table`
            or :func:`~pflow_geo.evaluation.predictions.read_predictions`.
        output_dir: Folder for ``report.md``, ``metrics.json`` and ``figures/``;
            created if missing, and files of the same name are overwritten.
        methods: Methods to compare, in legend order; all ``prob_<method>``
            columns when None.
        reference: The method whose tracks are shown in the event displays;
            the first of ``methods`` when None.
        threshold: Probability above which a cell counts as assigned to the track.
        num_worst: Number of event displays of the tracks with the largest ``|E_pred - E_true|``.
        num_typical: Number of event displays of tracks with a residual near the median.
        dpi: Resolution of the PNG files.

    Returns:
        The metrics dictionary also written to ``metrics.json`` (see :func:`compute_metrics`).

    Raises:
        ValueError: If the table has no rows, no methods, or a requested method is missing.
    """
    methods = _check_methods(table, methods)
    reference = methods[0] if reference is None else reference
    if reference not in methods:
        raise ValueError(f"reference method {reference!r} is not among the methods {methods}")
    output = Path(output_dir)
    (output / _FIGURE_FOLDER).mkdir(parents=True, exist_ok=True)

    summaries = {method: summarize_tracks(table, method, threshold) for method in methods}
    metrics = compute_metrics(table, methods, threshold, summaries)
    with open(output / "metrics.json", "w", encoding="utf-8") as handle:
        json.dump(_json_safe(metrics), handle, indent=2)
        handle.write("\n")

    sections = []
    for spec in _figure_specs(table, methods, reference, threshold, summaries, num_worst, num_typical):
        sections.append(_render_figure(spec, output, dpi))
    report = _report_text(metrics, methods, reference, sections)
    (output / "report.md").write_text(report, encoding="utf-8")
    logger.info("wrote the evaluation report of %d methods to %s", len(methods), output)
    return metrics


def compute_metrics(
    table: pa.Table,
    methods: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
    summaries: dict[str, TrackSummary] | None = None,
) -> dict[str, Any]:
    """Collect every method's figures into a JSON-ready dictionary.

    Per method, the dictionary contains:

    * the cell scores of :func:`~pflow_geo.evaluation.scores.headline_scores`;
    * ``residual_median`` and ``residual_iqr`` over tracks;
    * ``neutral_energy_kept_fraction``, the share of the true neutral energy
      left in cells not assigned to the track;
    * ``binned``: efficiency and purity per bin of each
      :data:`~pflow_geo.evaluation.binned.BINNED_VARIABLES` entry;
    * ``residual_vs_track_pt``: the residual median and IQR per track-pT bin.

    Undefined values are NaN, written as ``null`` in ``metrics.json``.

    Raises:
        ValueError: If the table has no rows, no methods, or a requested method is missing.
    """
    methods = _check_methods(table, methods)
    if summaries is None:
        summaries = {method: summarize_tracks(table, method, threshold) for method in methods}
    pt_edges = DEFAULT_EDGES["track_pt"]
    any_summary = summaries[methods[0]]
    result: dict[str, Any] = {
        "threshold": threshold,
        "num_cells": table.num_rows,
        "num_tracks": any_summary.num_tracks,
        "num_tracks_with_focal_energy": int(np.count_nonzero(any_summary.true_energy > 0)),
        "total_energy_gev": float(column(table, "energy").astype(np.float64).sum()),
        "methods": {},
    }
    for method in methods:
        summary = summaries[method]
        residual = summary.residual[np.isfinite(summary.residual)]
        quartiles = np.percentile(residual, [25.0, 50.0, 75.0]) if residual.size else np.full(3, np.nan)
        true_neutral = summary.true_neutral_energy.sum()
        entry: dict[str, Any] = {
            **headline_scores(table, method, threshold),
            "residual_median": float(quartiles[1]),
            "residual_iqr": float(quartiles[2] - quartiles[0]),
            "neutral_energy_kept_fraction": float(summary.neutral_energy_left.sum() / true_neutral)
            if true_neutral > 0
            else math.nan,
        }
        binned = {}
        for variable in BINNED_VARIABLES:
            rates = binned_rates(table, method, variable, threshold=threshold)
            binned[variable] = {
                "edges" if rates.edges is not None else "layers": (
                    rates.edges if rates.edges is not None else rates.categories
                ).tolist(),
                "efficiency": rates.efficiency.tolist(),
                "purity": rates.purity.tolist(),
                "num_cells": rates.num_cells.tolist(),
            }
        entry["binned"] = binned
        quantiles = binned_quantiles(summary.track_pt, summary.residual, pt_edges)
        entry["residual_vs_track_pt"] = {
            "edges": list(pt_edges),
            "median": quantiles.median.tolist(),
            "iqr": quantiles.iqr.tolist(),
            "num_tracks": quantiles.count.tolist(),
        }
        result["methods"][method] = entry
    return result


def _check_methods(table: pa.Table, methods: Sequence[str] | None) -> list[str]:
    available = method_names(table)
    methods = available if methods is None else list(methods)
    if table.num_rows == 0:
        raise ValueError("the prediction table has no rows; evaluate at least one cloud with cells")
    if not methods:
        raise ValueError("the prediction table has no prob_<method> column; nothing to report")
    missing = [method for method in methods if method not in available]
    if missing:
        raise ValueError(f"methods {missing} have no probability column; available methods: {available}")
    return methods


def _figure_specs(
    table: pa.Table,
    methods: list[str],
    reference: str,
    threshold: float,
    summaries: dict[str, TrackSummary],
    num_worst: int,
    num_typical: int,
) -> list[_FigureSpec]:
    specs = []
    for weighted in (True, False):
        kind = "energy-weighted" if weighted else "unweighted"
        suffix = "weighted" if weighted else "unweighted"
        specs.append(
            _FigureSpec(
                f"roc_{suffix}.png",
                f"ROC, {kind}",
                f"ROC curves, {kind}; dots mark the working threshold {threshold:g}.",
                lambda weighted=weighted: plot_roc(table, methods, weighted, threshold),
            )
        )
        specs.append(
            _FigureSpec(
                f"precision_recall_{suffix}.png",
                f"Precision-recall, {kind}",
                f"Precision-recall curves, {kind}; dots mark the working threshold {threshold:g}.",
                lambda weighted=weighted: plot_precision_recall(table, methods, weighted, threshold),
            )
        )
    for variable in BINNED_VARIABLES:
        specs.append(
            _FigureSpec(
                f"rates_vs_{variable}.png",
                f"Efficiency and purity vs {variable}",
                "Energy-weighted efficiency (recall) and purity (precision) of the cell assignment; "
                "values outside the first or last bin are counted in that bin. Purity is not drawn where "
                "a method assigns no cell energy (always_0 everywhere).",
                lambda variable=variable: plot_binned_rates(table, methods, variable, threshold),
            )
        )
    specs += [
        _FigureSpec(
            "residual.png",
            "Energy-subtraction residual",
            "Per track, (E_pred - E_true) / E_true with E_pred the energy of the assigned cells and "
            "E_true = sum(E * frac_focus), both at EM scale; tracks without focal energy are left out.",
            lambda: plot_residual_distribution(summaries),
        ),
        _FigureSpec(
            "residual_vs_track_pt.png",
            "Residual vs track pT",
            "Median residual with its 25-75% band, and the interquartile range, in track-pT bins.",
            lambda: plot_residual_vs_pt(summaries),
        ),
        _FigureSpec(
            "reliability.png",
            "Reliability",
            "Fraction of focus cells against the mean predicted probability, in ten probability bins.",
            lambda: plot_reliability(table, methods),
        ),
        _FigureSpec(
            "neutral_energy.png",
            "Neutral energy after subtraction",
            "Per track, sum(E * frac_neutral) over the cells not assigned to the track against the same "
            "sum over all cells; points on the diagonal keep all neutral energy.",
            lambda: plot_neutral_energy(summaries),
        ),
    ]
    displayed = select_display_tracks(summaries[reference], num_worst=num_worst, num_typical=num_typical)
    for number, track in enumerate(displayed):
        specs.append(
            _FigureSpec(
                f"display_{number:02d}_{track.reason}.png",
                f"Event display: {track.reason} track {number + 1}",
                f"Event {track.event_number}, entry {track.entry}, track {track.track_index}, chosen by the "
                f"{reference} residual {track.residual:+.3f}.",
                lambda track=track: plot_event_display(table, track, reference, threshold),
            )
        )
    return specs


def _render_figure(spec: _FigureSpec, output: Path, dpi: int) -> str:
    """Save one figure and return its Markdown section; a figure that cannot be drawn gets a note instead."""
    try:
        figure = spec.draw()
    except ValueError as error:
        logger.warning("skipped figure %s: %s", spec.filename, error)
        return f"### {spec.title}\n\nNot drawn: {error}\n"
    figure.savefig(output / _FIGURE_FOLDER / spec.filename, dpi=dpi)
    return f"### {spec.title}\n\n![{spec.title}]({_FIGURE_FOLDER}/{spec.filename})\n\n{spec.caption}\n"


def _report_text(metrics: dict[str, Any], methods: list[str], reference: str, sections: list[str]) -> str:
    lines = [
        "# Cell-to-track segmentation: evaluation report",
        "",
        f"{metrics['num_tracks']} tracks ({metrics['num_tracks_with_focal_energy']} with focal energy), "
        f"{metrics['num_cells']} cells, {metrics['total_energy_gev']:.1f} GeV of cell energy. "
        f"A cell is assigned to the track when its probability is above {metrics['threshold']:g}. "
        f"Event displays follow the `{reference}` method.",
        "",
        "## Headline figures",
        "",
    ]
    numbers = [key for key, value in metrics["methods"][methods[0]].items() if isinstance(value, (int, float))]
    track_keys = [key for key in numbers if key in _TRACK_KEYS]
    cell_keys = [key for key in numbers if key not in _TRACK_KEYS]
    lines += [
        "Cell scores from `pflow_geo.metrics`; the `weighted_` ones weigh each cell by |energy|.",
        "",
    ]
    lines += _markdown_table(metrics, methods, cell_keys)
    lines += [
        "",
        "Per-track energy figures: the median and interquartile range of the residual "
        "(E_pred - E_true) / E_true, and the share of the true neutral energy left in unassigned cells.",
        "",
    ]
    lines += _markdown_table(metrics, methods, track_keys)
    lines += ["", "## Figures", ""]
    lines += sections
    return "\n".join(lines) + "\n"


def _markdown_table(metrics: dict[str, Any], methods: list[str], keys: list[str]) -> list[str]:
    lines = ["| method | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for method in methods:
        values = metrics["methods"][method]
        lines.append(f"| {method} | " + " | ".join(_format_number(values[key]) for key in keys) + " |")
    return lines


def _format_number(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value:.4g}"


def _json_safe(value: Any) -> Any:
    """Replace NaN and infinities with None, recursively, so ``json.dump`` writes standard JSON."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value
