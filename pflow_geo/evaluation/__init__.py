"""Physics evaluation: baselines, the per-cell prediction table and the report built from it.

Typical use, with ``model_probabilities`` one per-point array per test cloud::

    from pflow_geo.evaluation import build_table, fit_baselines, write_predictions, write_report

    probabilities = {"model": model_probabilities, **fit_baselines(train_clouds).predict(test_clouds)}
    table = build_table(test_clouds, probabilities)
    write_predictions(table, "run/predictions.parquet")
    metrics = write_report(table, "run/report")  # report.md, metrics.json, figures/*.png

The report can be remade later from the parquet file alone with
``write_report(read_predictions("run/predictions.parquet"), "run/report")``.
"""

from .baselines import BASELINE_METHODS, Baselines, CONE_RADII, ConeBaseline, fit_baselines
from .predictions import build_table, method_names, read_predictions, write_predictions
from .report import compute_metrics, write_report
from .subtraction import CellSubtraction
from .tracks import TrackSummary, summarize_tracks

__all__ = [
    "BASELINE_METHODS",
    "CONE_RADII",
    "Baselines",
    "CellSubtraction",
    "ConeBaseline",
    "TrackSummary",
    "build_table",
    "compute_metrics",
    "fit_baselines",
    "method_names",
    "read_predictions",
    "summarize_tracks",
    "write_predictions",
    "write_report",
]
