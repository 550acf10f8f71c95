import math

import numpy as np
import pytest

from pflow_geo.evaluation.curves import precision_recall_curve, reliability_curve, roc_curve

# Sorted by probability: 0.9 (positive, weight 1), 0.8 (negative, 2), 0.8 (positive, 3), 0.1 (negative, 4).
LABELS = np.array([1, 0, 1, 0])
PROBABILITIES = np.array([0.9, 0.8, 0.8, 0.1])
WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0])


def test_roc_weighted():
    curve = roc_curve(LABELS, PROBABILITIES, WEIGHTS)
    assert curve.x.tolist() == pytest.approx([0.0, 0.0, 2.0 / 6.0, 1.0])
    assert curve.y.tolist() == pytest.approx([0.0, 0.25, 1.0, 1.0])
    assert curve.thresholds.tolist() == [math.inf, 0.9, 0.8, 0.1]


def test_roc_unweighted():
    curve = roc_curve(LABELS, PROBABILITIES)
    assert curve.x.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0])
    assert curve.y.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.0])


def test_precision_recall_weighted():
    curve = precision_recall_curve(LABELS, PROBABILITIES, WEIGHTS)
    assert curve.x.tolist() == pytest.approx([0.25, 1.0, 1.0])
    assert curve.y.tolist() == pytest.approx([1.0, 4.0 / 6.0, 0.4])
    assert curve.thresholds.tolist() == [0.9, 0.8, 0.1]


def test_roc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        roc_curve(np.array([1, 1]), np.array([0.2, 0.3]))


def test_curves_reject_negative_weights():
    with pytest.raises(ValueError, match="non-negative"):
        precision_recall_curve(LABELS, PROBABILITIES, -WEIGHTS)


def test_curves_reject_length_mismatch():
    with pytest.raises(ValueError, match="differ in length: 4, 3 and 4"):
        roc_curve(LABELS, PROBABILITIES[:3], WEIGHTS)


def test_reliability_weighted():
    curve = reliability_curve(LABELS, PROBABILITIES, WEIGHTS, num_bins=2)
    assert curve.edges.tolist() == [0.0, 0.5, 1.0]
    assert curve.total_weight.tolist() == [4.0, 6.0]
    assert curve.mean_probability.tolist() == pytest.approx([0.1, 4.9 / 6.0])
    assert curve.positive_fraction.tolist() == pytest.approx([0.0, 4.0 / 6.0])


def test_reliability_probability_one_in_last_bin():
    curve = reliability_curve(np.array([1, 0]), np.array([1.0, 0.0]), num_bins=4)
    assert curve.total_weight.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert curve.positive_fraction[3] == 1.0
    assert math.isnan(curve.mean_probability[1])
