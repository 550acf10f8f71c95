"""Cell segmentation metrics, energy-weighted and unweighted, with exact epoch totals.

Every figure is computed over cell points from three arrays. They hold the
predicted probability that the cell belongs to the focus track, the label
and the cell energy in GeV. The label is 1 when more than half of the cell's
truth energy comes from the focus particle. A cell is predicted positive
when its probability is above ``threshold`` (strictly, as torchmetrics 1.9
does).

Weighted figures weigh each cell by ``|energy|``. Noise can make a cell's
energy negative, and a signed weight would let such a cell cancel others.

Figures, each unweighted and with the prefix ``weighted_``:

* ``accuracy = (TP + TN) / (TP + FP + TN + FN)``
* ``precision = TP / (TP + FP)``, the energy purity when weighted
* ``recall = TP / (TP + FN)``, the energy efficiency when weighted
* ``f1 = 2 TP / (2 TP + FP + FN)``, equal to the harmonic mean of precision
  and recall
* ``roc_auc``: the area under the ROC curve, with tied scores counted as
  half, i.e. the (weighted) probability that a random positive cell scores
  above a random negative cell.

A ratio whose denominator is 0 is 0: precision with no predicted positive,
recall with no positive cell, every ratio without cells. ROC AUC is NaN when
the positive or the negative cells have no weight, because then no ranking
exists to score.

The same figures for two trivial classifiers on the same cells have the
prefixes ``always_one_`` and ``always_zero_`` (e.g.
``always_one_weighted_f1``). Always one has ``TP = P``, ``FP = N`` and no
negatives; its recall is 1 when there is a positive cell. Always zero has
``TN = N`` and ``FN = P``, so its precision, recall and F1 are 0. A constant
score ties every pair, so both have ROC AUC 0.5 (NaN under the rule above).

:class:`SegmentationMetrics` keeps sums of TP, FP, TN and FN, and for ROC
AUC the scores, labels and weights of every cell. Sums add and lists
concatenate across batches and across distributed ranks, so an epoch figure
equals the figure computed once on all of the epoch's cells.
:func:`segmentation_scores` computes the same figures from arrays in one call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from .datasets.fields import Category

__all__ = ["SCORE_NAMES", "SegmentationMetrics", "segmentation_scores", "binary_roc_auc", "score_names"]

SCORE_NAMES: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "roc_auc")
_CLASSIFIERS = ("", "always_one_", "always_zero_")
_WEIGHTINGS = ("", "weighted_")


def score_names(roc_auc: bool = True) -> list[str]:
    """Return the keys of the figures that :func:`segmentation_scores` and :class:`SegmentationMetrics` return."""
    names = SCORE_NAMES if roc_auc else SCORE_NAMES[:-1]
    return [f"{classifier}{weighting}{name}" for classifier in _CLASSIFIERS for weighting in _WEIGHTINGS for name in names]


def segmentation_scores(
    probabilities: Any,
    labels: Any,
    weights: Any = None,
    *,
    category: Any = None,
    threshold: float = 0.5,
    roc_auc: bool = True,
) -> dict[str, float]:
    """Compute every figure of this module over one set of cells.

    Args:
        probabilities: Predicted probability of each point, in ``[0, 1]``.
        labels: Label of each point, 0 or 1.
        weights: Cell energy of each point in GeV (its absolute value is
            used); ``None`` gives every point weight 1.
        category: Point category; when given, only cells (category 1)
            count. Without it every point counts as a cell.
        threshold: Probability above which a cell is predicted positive.
        roc_auc: Whether to compute the ROC AUC figures.

    Returns:
        A dict from :func:`score_names` to float.

    Raises:
        ValueError: For arrays of different shapes, probabilities outside
            ``[0, 1]`` (often logits passed by mistake) or labels other
            than 0 and 1.

    Shapes:
        - probabilities, labels, weights, category: ``[num_points]``,
          NumPy arrays, torch tensors or sequences.
    """
    probability_tensor = _as_tensor(probabilities)
    device = probability_tensor.device
    label_tensor = _as_tensor(labels, device)
    weight_tensor = torch.ones_like(probability_tensor) if weights is None else _as_tensor(weights, device)
    category_tensor = None if category is None else _as_tensor(category, device)
    probability_tensor, label_tensor, weight_tensor = _select_cells(
        probability_tensor, label_tensor, weight_tensor, category_tensor, validate=True
    )

    confusion = _confusion(probability_tensor, label_tensor, weight_tensor, threshold)
    auc = None
    if roc_auc:
        auc = torch.stack(
            [
                binary_roc_auc(probability_tensor, label_tensor),
                binary_roc_auc(probability_tensor, label_tensor, weight_tensor),
            ]
        )
    return {name: float(value) for name, value in _scores(confusion, auc).items()}


def binary_roc_auc(scores: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Compute the exact, optionally weighted, area under the ROC curve.

    Tied scores are grouped, so the curve takes one diagonal step per
    distinct score, which counts each tied positive-negative pair as half.

    Args:
        scores: Score of each sample; higher means more likely positive.
        labels: Label of each sample, 0 or 1.
        weights: Non-negative weight of each sample; all 1 when ``None``.

    Returns:
        A float64 scalar tensor; NaN when the positives or the negatives
        have a total weight of 0.

    Shapes:
        - scores, labels, weights: ``[num_samples]``
    """
    scores = scores.to(torch.float64)
    positive = labels.to(torch.float64)
    weights = torch.ones_like(scores) if weights is None else weights.to(torch.float64)

    order = torch.argsort(scores, descending=True)
    scores = scores[order]
    positive_weight = (weights * positive)[order]
    negative_weight = (weights * (1.0 - positive))[order]

    # The cumulative sums at the last sample of each group of equal scores
    # are the true- and false-positive weights of the ROC curve's points.
    last_of_group = torch.ones_like(scores, dtype=torch.bool)
    last_of_group[:-1] = scores[1:] != scores[:-1]
    true_positive = torch.cumsum(positive_weight, 0)[last_of_group]
    false_positive = torch.cumsum(negative_weight, 0)[last_of_group]
    zero = scores.new_zeros(1)
    true_positive = torch.cat([zero, true_positive])
    false_positive = torch.cat([zero, false_positive])

    area = torch.trapezoid(true_positive, false_positive)
    total_positive = true_positive[-1]
    total_negative = false_positive[-1]
    defined = (total_positive > 0) & (total_negative > 0)
    return torch.where(defined, area / (total_positive * total_negative), torch.nan)


class SegmentationMetrics(Metric):
    """Accumulate cell figures over batches and ranks; :meth:`compute` gives the exact epoch figures.

    Use one instance per split. Call :meth:`update` on each batch and
    :meth:`compute` at the end of the epoch (in Lightning,
    ``self.log_dict(metrics.compute())`` then ``metrics.reset()``). Under
    ``torch.distributed`` the states are summed and concatenated over ranks
    before :meth:`compute`. The figures are those of the module docstring.

    Args:
        threshold: Probability above which a cell is predicted positive.
        roc_auc: Whether to keep every cell's score, label and weight for
            the ROC AUC figures. This costs 24 bytes per cell on the metric's
            device until :meth:`reset`.
        validate_args: Whether :meth:`update` checks that probabilities are
            in ``[0, 1]`` and labels are 0 or 1 (one host sync per call).
        **kwargs: Passed to :class:`torchmetrics.Metric`.

    States:
        - ``confusion``: ``[2, 4]`` float64, rows unweighted and weighted,
          columns TP, FP, TN, FN; summed over ranks.
        - ``scores``, ``labels``, ``weights``: float64 lists of the cells,
          concatenated over ranks; kept only with ``roc_auc=True``.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, threshold: float = 0.5, roc_auc: bool = True, validate_args: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"invalid threshold {threshold!r}; expected a probability in [0, 1]")
        self.threshold = float(threshold)
        self.roc_auc = roc_auc
        self.validate_args = validate_args
        self.add_state("confusion", default=torch.zeros(2, 4, dtype=torch.float64), dist_reduce_fx="sum")
        if roc_auc:
            self.add_state("scores", default=[], dist_reduce_fx="cat")
            self.add_state("labels", default=[], dist_reduce_fx="cat")
            self.add_state("weights", default=[], dist_reduce_fx="cat")

    def update(
        self,
        probabilities: torch.Tensor,
        target: torch.Tensor,
        weight: torch.Tensor,
        category: torch.Tensor | None = None,
    ) -> None:
        """Add one batch.

        Args:
            probabilities: Predicted probability of each point, e.g.
                ``torch.sigmoid(logits)``.
            target: Label of each point (``data.y``).
            weight: Cell energy of each point in GeV (``data.weight``).
            category: Point category (``data.category``); only cells count.
                Without it every point counts as a cell.

        Shapes:
            - probabilities, target, weight, category: ``[num_points]``
        """
        probabilities, target, weight = _select_cells(
            probabilities.detach(), target, weight, category, validate=self.validate_args
        )
        self.confusion += _confusion(probabilities, target, weight, self.threshold)
        if self.roc_auc:
            self.scores.append(probabilities.to(torch.float64))
            self.labels.append(target.to(torch.float64))
            self.weights.append(weight.to(torch.float64))

    def compute(self) -> dict[str, torch.Tensor]:
        """Compute the figures over every cell added since the last reset; keys from :func:`score_names`."""
        auc = None
        if self.roc_auc:
            scores = self._concatenate(self.scores)
            labels = self._concatenate(self.labels)
            weights = self._concatenate(self.weights)
            auc = torch.stack([binary_roc_auc(scores, labels), binary_roc_auc(scores, labels, weights)])
        return _scores(self.confusion, auc)

    def _concatenate(self, state: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        # A list state becomes one tensor after a distributed sync.
        if isinstance(state, list) and not state:
            return self.confusion.new_zeros(0)
        return dim_zero_cat(state).to(torch.float64)


def _as_tensor(values: Any, device: torch.device | None = None) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        tensor = values.detach()
    else:
        tensor = torch.from_numpy(np.ascontiguousarray(np.asarray(values)))
    return tensor.reshape(-1) if device is None else tensor.reshape(-1).to(device)


def _select_cells(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor,
    category: torch.Tensor | None,
    validate: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check the arrays and return the probabilities, labels and absolute weights of the cells."""
    arrays = {"probabilities": probabilities, "labels": labels, "weights": weights}
    if category is not None:
        arrays["category"] = category
    shapes = {name: tuple(array.shape) for name, array in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"expected arrays of one shape, got {shapes}")

    if category is not None:
        cells = category == Category.CELL
        probabilities, labels, weights = probabilities[cells], labels[cells], weights[cells]
    if validate and probabilities.numel():
        if not bool(((probabilities >= 0) & (probabilities <= 1)).all()):
            raise ValueError(
                f"probabilities must lie in [0, 1], got values in [{float(probabilities.min())}, "
                f"{float(probabilities.max())}]. Apply torch.sigmoid to logits first."
            )
        if not bool(((labels == 0) | (labels == 1)).all()):
            raise ValueError(f"labels must be 0 or 1, got {torch.unique(labels).tolist()[:10]}")
    return probabilities, labels, weights.abs()


def _confusion(probabilities: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, threshold: float) -> torch.Tensor:
    """Return ``[2, 4]`` float64 sums: rows unweighted and weighted, columns TP, FP, TN, FN."""
    predicted = probabilities > threshold
    positive = labels > 0.5
    outcomes = torch.stack([predicted & positive, predicted & ~positive, ~predicted & ~positive, ~predicted & positive])
    outcomes = outcomes.to(torch.float64)
    return torch.stack([outcomes.sum(dim=1), outcomes @ weights.to(torch.float64)])


def _scores(confusion: torch.Tensor, auc: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Turn the confusion sums (and the two ROC AUCs) into the named figures of all three classifiers."""
    scores: dict[str, torch.Tensor] = {}
    for row, weighting in enumerate(_WEIGHTINGS):
        true_positive, false_positive, true_negative, false_negative = confusion[row].unbind()
        positives = true_positive + false_negative
        negatives = false_positive + true_negative
        zero = torch.zeros_like(positives)
        outcomes = {
            "": (true_positive, false_positive, true_negative, false_negative),
            "always_one_": (positives, negatives, zero, zero),
            "always_zero_": (zero, zero, negatives, positives),
        }
        constant_auc = torch.where((positives > 0) & (negatives > 0), 0.5, torch.nan).to(confusion.dtype)
        for classifier, counts in outcomes.items():
            for name, value in _ratios(*counts).items():
                scores[f"{classifier}{weighting}{name}"] = value
            if auc is not None:
                scores[f"{classifier}{weighting}roc_auc"] = auc[row] if classifier == "" else constant_auc
    return {name: scores[name] for name in score_names(auc is not None)}


def _ratios(
    true_positive: torch.Tensor,
    false_positive: torch.Tensor,
    true_negative: torch.Tensor,
    false_negative: torch.Tensor,
) -> dict[str, torch.Tensor]:
    total = true_positive + false_positive + true_negative + false_negative
    return {
        "accuracy": _divide(true_positive + true_negative, total),
        "precision": _divide(true_positive, true_positive + false_positive),
        "recall": _divide(true_positive, true_positive + false_negative),
        "f1": _divide(2 * true_positive, 2 * true_positive + false_positive + false_negative),
    }


def _divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """Divide, giving 0 where the denominator is 0."""
    positive = denominator > 0
    return torch.where(positive, numerator / torch.where(positive, denominator, 1.0), 0.0)
