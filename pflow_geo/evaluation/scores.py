"""Headline cell scores of the evaluation, taken from :mod:`pflow_geo.metrics`.

The evaluation uses the metric definitions of :func:`pflow_geo.metrics.segmentation_scores`
(accuracy, precision, recall, F1 and ROC AUC, unweighted and weighted by
``|cell energy|``) and keeps no second copy of them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..metrics import segmentation_scores
from .predictions import DEFAULT_THRESHOLD, column, probability_column

__all__ = ["headline_scores", "energy_weighted_f1"]

# Prefixes of the trivial classifiers that segmentation_scores adds; the
# evaluation runs those as baselines of their own, so they are dropped here.
_TRIVIAL_PREFIXES = ("always_one_", "always_zero_")


def headline_scores(table: pa.Table, method: str, threshold: float = DEFAULT_THRESHOLD) -> dict[str, float]:
    """Return the method's cell scores over all rows of the table.

    Keys are ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc`` and
    the same with the prefix ``weighted_``; see :mod:`pflow_geo.metrics` for
    the definitions and the value of undefined ratios.

    Raises:
        KeyError: If the table has no column for the method.
    """
    # np.array copies the read-only arrow buffers, which torch.from_numpy warns about.
    scores = segmentation_scores(
        np.array(column(table, probability_column(method))),
        column(table, "label").astype(np.float32),
        np.array(column(table, "energy")),
        threshold=threshold,
    )
    return {name: value for name, value in scores.items() if not name.startswith(_TRIVIAL_PREFIXES)}


def energy_weighted_f1(labels: np.ndarray, predicted: np.ndarray, energy: np.ndarray) -> float:
    """Return the energy-weighted F1 of a 0/1 assignment of cells.

    Args:
        labels: Label of each cell, 0 or 1.
        predicted: Whether each cell is assigned to the focus track.
        energy: Cell energy in GeV.
    """
    scores = segmentation_scores(
        np.asarray(predicted, dtype=np.float32),
        np.asarray(labels, dtype=np.float32),
        np.asarray(energy, dtype=np.float64),
        roc_auc=False,
    )
    return scores["weighted_f1"]
