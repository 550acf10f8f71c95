"""Threshold-scan curves of cell probabilities: ROC, precision-recall and reliability.

Each curve takes per-cell labels (0/1), probabilities and optional weights;
the report passes the cell energy in GeV as the weight for the
energy-weighted versions. Weights must be non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Curve", "ReliabilityCurve", "roc_curve", "precision_recall_curve", "reliability_curve"]


@dataclass(frozen=True)
class Curve:
    """Points of a threshold scan, one per distinct probability, highest threshold first.

    Attributes:
        x: False-positive rate (ROC) or recall (precision-recall).
        y: True-positive rate (ROC) or precision (precision-recall).
        thresholds: The probability at or above which cells count as positive at each point.
    """

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray


@dataclass(frozen=True)
class ReliabilityCurve:
    """Observed positive fraction against mean predicted probability, in probability bins.

    Attributes:
        edges: Probability bin edges ``[num_bins + 1]``.
        mean_probability: Weighted mean probability per bin, NaN for an empty bin.
        positive_fraction: Weighted fraction of label-1 cells per bin, NaN for an empty bin.
        total_weight: Sum of weights per bin.
    """

    edges: np.ndarray
    mean_probability: np.ndarray
    positive_fraction: np.ndarray
    total_weight: np.ndarray


def roc_curve(labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray | None = None) -> Curve:
    """Compute the ROC curve (false-positive rate, true-positive rate), starting at (0, 0).

    Raises:
        ValueError: If the inputs differ in length, a weight is negative, or
            either class has zero total weight.
    """
    true_positive, false_positive, thresholds = _cumulative_counts(labels, probabilities, weights)
    if true_positive[-1] <= 0 or false_positive[-1] <= 0:
        raise ValueError("the ROC curve needs both classes with positive total weight")
    return Curve(
        x=np.concatenate([[0.0], false_positive / false_positive[-1]]),
        y=np.concatenate([[0.0], true_positive / true_positive[-1]]),
        thresholds=np.concatenate([[np.inf], thresholds]),
    )


def precision_recall_curve(labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray | None = None) -> Curve:
    """Compute the precision-recall curve (recall, precision), one point per distinct probability.

    Raises:
        ValueError: If the inputs differ in length, a weight is negative, or
            the positive class has zero total weight.
    """
    true_positive, false_positive, thresholds = _cumulative_counts(labels, probabilities, weights)
    if true_positive[-1] <= 0:
        raise ValueError("the precision-recall curve needs positive cells with positive total weight")
    predicted = true_positive + false_positive
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 1.0)
    return Curve(x=true_positive / true_positive[-1], y=precision, thresholds=thresholds)


def reliability_curve(
    labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray | None = None, num_bins: int = 10
) -> ReliabilityCurve:
    """Compare mean predicted probability with the observed positive fraction in equal-width bins.

    A probability of exactly 1 falls in the last bin.

    Raises:
        ValueError: If the inputs differ in length, a weight is negative or ``num_bins < 1``.
    """
    if num_bins < 1:
        raise ValueError(f"num_bins must be at least 1, got {num_bins}")
    labels, probabilities, weights = _check_inputs(labels, probabilities, weights)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    bin_index = np.clip(np.floor(probabilities * num_bins).astype(np.int64), 0, num_bins - 1)
    total = np.bincount(bin_index, weights=weights, minlength=num_bins)
    weighted_probability = np.bincount(bin_index, weights=weights * probabilities, minlength=num_bins)
    weighted_positive = np.bincount(bin_index, weights=weights * labels, minlength=num_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_probability = np.where(total > 0, weighted_probability / total, np.nan)
        positive_fraction = np.where(total > 0, weighted_positive / total, np.nan)
    return ReliabilityCurve(
        edges=edges, mean_probability=mean_probability, positive_fraction=positive_fraction, total_weight=total
    )


def _check_inputs(
    labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=np.float64).reshape(-1)
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    weights = np.ones_like(probabilities) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if not labels.shape == probabilities.shape == weights.shape:
        raise ValueError(
            f"labels, probabilities and weights differ in length: {labels.shape[0]}, "
            f"{probabilities.shape[0]} and {weights.shape[0]}"
        )
    if np.any(weights < 0):
        raise ValueError(f"weights must be non-negative, got minimum {weights.min()!r}")
    return labels, probabilities, weights


def _cumulative_counts(
    labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return weighted true and false positives at each distinct probability, highest first."""
    labels, probabilities, weights = _check_inputs(labels, probabilities, weights)
    if probabilities.shape[0] == 0:
        raise ValueError("no cells to build a curve from")
    order = np.argsort(-probabilities, kind="stable")
    probabilities = probabilities[order]
    true_positive = np.cumsum(weights[order] * labels[order])
    false_positive = np.cumsum(weights[order] * (1.0 - labels[order]))
    # Keep the last cell of each run of equal probabilities, where the threshold admits the whole run.
    last_of_run = np.flatnonzero(np.diff(probabilities, append=-np.inf) != 0)
    return true_positive[last_of_run], false_positive[last_of_run], probabilities[last_of_run]
