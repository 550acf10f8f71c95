"""Segmentation losses over cell points, weighted by cell energy.

Every loss here reads the per-point logits of a model and the cloud fields
``y``, ``weight`` (cell energy in GeV), ``category`` and, for batches,
``batch`` (see :mod:`pflow_geo.datasets.fields`). Only cells
(``category == 1``) enter a loss: padding and track points are dropped
before any arithmetic, so their logits, even NaN, change neither the value
nor the gradient.

Each cell gets a weight from its energy ``E`` by one of
:data:`WEIGHT_TRANSFORMS`:

* ``none``: 1.
* ``absolute``: ``|E|``.
* ``square``: ``E**2``.
* ``sqrt``: ``sqrt(|E|)``.
* ``log1p``: ``ln(1 + |E| / 1 GeV)``.
* ``normalize``: ``|E|`` divided by the sum of ``|E|`` over the cells of
  the same cloud, so that every cloud (track) counts the same in a batch,
  whatever its energy. A cloud whose cells all have ``E == 0`` gets weight 0.
* ``standardize``: ``max(0, 1 + (|E| - mean) / std)``, with the mean and the
  population standard deviation of ``|E|`` over the batch's cells; all ones
  when the deviation is 0. The shift by 1 keeps the weights non-negative for
  all but the lowest-energy cells, which the clamp sets to 0.
* ``threshold``: 1 when ``E > threshold`` (GeV, signed, so negative noise
  cells get 0 at the default threshold of 0), else 0.

Noise can make ``E`` negative, hence the absolute values.

BCE and focal losses are weighted means, ``sum(w * l) / sum(w)`` over the
cells of the batch, so a common factor in the weights leaves them unchanged.
The soft Dice loss uses the weights normalised to sum 1. Every loss is 0,
with a gradient of 0, when the batch has no cell or all weights are 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data

from .datasets.fields import Category

__all__ = [
    "WEIGHT_TRANSFORMS",
    "LOSSES",
    "CellSelection",
    "select_cells",
    "transform_weights",
    "binary_cross_entropy",
    "focal_loss",
    "soft_dice_loss",
    "CellBCELoss",
    "CellFocalLoss",
    "CellDiceLoss",
    "CombinedLoss",
]

WeightTransform = Literal["none", "absolute", "square", "sqrt", "log1p", "normalize", "standardize", "threshold"]
WEIGHT_TRANSFORMS: tuple[str, ...] = (
    "none",
    "absolute",
    "square",
    "sqrt",
    "log1p",
    "normalize",
    "standardize",
    "threshold",
)
LOSSES: tuple[str, ...] = ("bce", "focal", "dice")


class CellSelection(NamedTuple):
    """The cell points of a batch, each tensor of shape ``[num_cells]``."""

    logits: torch.Tensor
    target: torch.Tensor
    energy: torch.Tensor
    batch: torch.Tensor


def select_cells(logits: torch.Tensor, data: Data) -> CellSelection:
    """Keep the logits, labels, energies (GeV) and cloud indices of the cell points.

    Args:
        logits: One logit per point of ``data``.
        data: A ``Data`` or ``Batch`` with ``y``, ``weight`` and ``category``.

    Raises:
        ValueError: When ``logits`` does not have one entry per point.

    Shapes:
        - logits: ``[num_points]``
        - output tensors: ``[num_cells]``
    """
    if logits.shape != data.category.shape:
        raise ValueError(
            f"expected one logit per point, shape {tuple(data.category.shape)}, got {tuple(logits.shape)}"
        )
    cells = data.category == Category.CELL
    return CellSelection(logits[cells], data.y[cells].to(logits.dtype), data.weight[cells], _batch_vector(data)[cells])


def transform_weights(
    energy: torch.Tensor,
    transform: WeightTransform = "none",
    *,
    batch: torch.Tensor | None = None,
    threshold: float = 0.0,
) -> torch.Tensor:
    """Turn cell energies into non-negative loss weights; the module docstring defines each transform.

    Args:
        energy: Energy of each cell in GeV.
        transform: One of :data:`WEIGHT_TRANSFORMS`.
        batch: Cloud index of each cell, used by ``normalize``; all cells
            form one cloud when ``None``.
        threshold: Energy in GeV above which ``threshold`` gives weight 1.

    Returns:
        The weights, with the dtype of ``energy``.

    Raises:
        ValueError: For an unknown ``transform``.

    Shapes:
        - energy, batch, output: ``[num_cells]``
    """
    _check_transform(transform)
    energy = energy.detach()
    magnitude = energy.abs()
    if transform == "none":
        return torch.ones_like(energy)
    if transform == "absolute":
        return magnitude
    if transform == "square":
        return energy.square()
    if transform == "sqrt":
        return magnitude.sqrt()
    if transform == "log1p":
        return magnitude.log1p()
    if transform == "threshold":
        return (energy > threshold).to(energy.dtype)
    if transform == "normalize":
        if batch is None:
            batch = torch.zeros(energy.shape, dtype=torch.long, device=energy.device)
        num_clouds = int(batch.max()) + 1 if batch.numel() else 0
        totals = torch.zeros(num_clouds, dtype=energy.dtype, device=energy.device).index_add_(0, batch, magnitude)
        cloud_total = totals[batch]
        return torch.where(cloud_total > 0, magnitude / cloud_total.clamp_min(torch.finfo(energy.dtype).tiny), 0.0)

    # standardize
    if magnitude.numel() == 0:
        return magnitude
    std, mean = torch.std_mean(magnitude, unbiased=False)
    if std == 0:
        return torch.ones_like(energy)
    return (1.0 + (magnitude - mean) / std).clamp_min(0.0)


def binary_cross_entropy(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Compute the weighted mean binary cross-entropy, ``sum(w * l) / sum(w)``.

    Args:
        logits: Logit of each point.
        target: Label of each point, 0 or 1 (values in between act as soft labels).
        weight: Non-negative weight of each point.

    Returns:
        A scalar tensor; 0 when the weights sum to 0.

    Shapes:
        - logits, target, weight: ``[num_cells]``
    """
    losses = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return _weighted_mean(losses, weight)


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
) -> torch.Tensor:
    """Compute the weighted mean focal loss of `Lin et al. <https://arxiv.org/abs/1708.02002>`_.

    Each point contributes ``-alpha_t * (1 - p_t)**gamma * ln(p_t)``, where
    ``p_t = p * y + (1 - p) * (1 - y)`` is the probability given to the true
    class and ``alpha_t = alpha * y + (1 - alpha) * (1 - y)``.

    Args:
        logits: Logit of each point.
        target: Label of each point, 0 or 1.
        weight: Non-negative weight of each point.
        gamma: Focusing exponent; 0 gives (alpha-weighted) cross-entropy.
        alpha: Weight of the positive class in ``[0, 1]``; ``None`` weighs
            both classes by 1.

    Returns:
        A scalar tensor; 0 when the weights sum to 0.

    Shapes:
        - logits, target, weight: ``[num_cells]``
    """
    cross_entropy = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    probability = torch.sigmoid(logits)
    p_true = probability * target + (1.0 - probability) * (1.0 - target)
    losses = (1.0 - p_true).pow(gamma) * cross_entropy
    if alpha is not None:
        losses = (alpha * target + (1.0 - alpha) * (1.0 - target)) * losses
    return _weighted_mean(losses, weight)


def soft_dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    smooth: float = 1e-6,
) -> torch.Tensor:
    """Compute the weighted soft Dice loss of the positive class over all given points.

    With ``w`` normalised to sum 1 and ``p = sigmoid(logits)``:
    ``1 - (2 * sum(w p y) + smooth) / (sum(w p) + sum(w y) + smooth)``.
    The sums run over the whole batch, not per cloud.

    Args:
        logits: Logit of each point.
        target: Label of each point, 0 or 1.
        weight: Non-negative weight of each point.
        smooth: Added to both sides of the ratio, in units of the normalised
            weights. It makes the loss 0 when both prediction and target are
            empty.

    Returns:
        A scalar tensor in ``[0, 1]``; 0 when the weights sum to 0.

    Shapes:
        - logits, target, weight: ``[num_cells]``
    """
    total = weight.sum()
    if total <= 0:
        return logits.sum() * 0.0
    normalised = weight / total
    probability = torch.sigmoid(logits)
    intersection = (normalised * probability * target).sum()
    denominator = (normalised * probability).sum() + (normalised * target).sum()
    return 1.0 - (2.0 * intersection + smooth) / (denominator + smooth)


class _CellLoss(nn.Module):
    """Base of the cell losses: selects cells, weighs them, then applies :meth:`_loss`."""

    def __init__(self, weight_transform: WeightTransform = "none", threshold: float = 0.0) -> None:
        super().__init__()
        _check_transform(weight_transform)
        self.weight_transform = weight_transform
        self.threshold = float(threshold)

    def forward(self, logits: torch.Tensor, data: Data) -> torch.Tensor:
        """Compute the loss of ``logits`` ``[num_points]`` on the cells of ``data``."""
        cells = select_cells(logits, data)
        weight = transform_weights(cells.energy, self.weight_transform, batch=cells.batch, threshold=self.threshold)
        return self._loss(cells.logits, cells.target, weight.to(cells.logits.dtype))

    def _loss(self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class CellBCELoss(_CellLoss):
    """Binary cross-entropy over cells, weighted by transformed cell energy.

    Args:
        weight_transform: One of :data:`WEIGHT_TRANSFORMS`.
        threshold: Energy in GeV for the ``threshold`` transform.
    """

    def _loss(self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return binary_cross_entropy(logits, target, weight)


class CellFocalLoss(_CellLoss):
    """Focal loss over cells, weighted by transformed cell energy; see :func:`focal_loss`.

    Args:
        gamma: Focusing exponent, >= 0.
        alpha: Weight of the positive class in ``[0, 1]``, or ``None``.
        weight_transform: One of :data:`WEIGHT_TRANSFORMS`.
        threshold: Energy in GeV for the ``threshold`` transform.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | None = 0.25,
        weight_transform: WeightTransform = "none",
        threshold: float = 0.0,
    ) -> None:
        super().__init__(weight_transform, threshold)
        if gamma < 0:
            raise ValueError(f"invalid focal gamma {gamma!r}; expected a value >= 0")
        if alpha is not None and not 0.0 <= alpha <= 1.0:
            raise ValueError(f"invalid focal alpha {alpha!r}; expected a value in [0, 1] or None")
        self.gamma = float(gamma)
        self.alpha = None if alpha is None else float(alpha)

    def _loss(self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return focal_loss(logits, target, weight, self.gamma, self.alpha)


class CellDiceLoss(_CellLoss):
    """Soft Dice loss over cells, weighted by transformed cell energy; see :func:`soft_dice_loss`.

    Args:
        smooth: Smoothing term, > 0, in units of the normalised weights.
        weight_transform: One of :data:`WEIGHT_TRANSFORMS`.
        threshold: Energy in GeV for the ``threshold`` transform.
    """

    def __init__(self, smooth: float = 1e-6, weight_transform: WeightTransform = "none", threshold: float = 0.0) -> None:
        super().__init__(weight_transform, threshold)
        if smooth <= 0:
            raise ValueError(f"invalid dice smooth {smooth!r}; expected a value > 0")
        self.smooth = float(smooth)

    def _loss(self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return soft_dice_loss(logits, target, weight, self.smooth)


class CombinedLoss(nn.Module):
    """Sum of cell losses with coefficients, e.g. ``CombinedLoss({"bce": 1.0, "dice": 0.5})``.

    All terms share one weight transform, and the cells and weights are
    computed once per call. Every argument is a plain string, number or
    mapping, so Lightning's CLI can build the loss from YAML::

        loss:
          class_path: pflow_geo.losses.CombinedLoss
          init_args:
            terms: {bce: 1.0, dice: 0.5}
            weight_transform: sqrt

    Args:
        terms: Coefficient of each loss, by name in :data:`LOSSES`
            (``bce``, ``focal``, ``dice``); coefficients must be >= 0.
        weight_transform: One of :data:`WEIGHT_TRANSFORMS`.
        threshold: Energy in GeV for the ``threshold`` transform.
        focal_gamma: ``gamma`` of the focal term.
        focal_alpha: ``alpha`` of the focal term, or ``None``.
        dice_smooth: ``smooth`` of the Dice term.

    Raises:
        ValueError: For an unknown loss name or transform, no terms, or a
            negative coefficient.
    """

    def __init__(
        self,
        terms: Mapping[str, float] | None = None,
        weight_transform: WeightTransform = "none",
        threshold: float = 0.0,
        focal_gamma: float = 2.0,
        focal_alpha: float | None = 0.25,
        dice_smooth: float = 1e-6,
    ) -> None:
        super().__init__()
        terms = {"bce": 1.0} if terms is None else dict(terms)
        if not terms:
            raise ValueError(f"CombinedLoss needs at least one term; choose from {LOSSES}")
        unknown = sorted(set(terms) - set(LOSSES))
        if unknown:
            raise ValueError(f"unknown loss names {unknown}; expected names from {LOSSES}")
        self.coefficients = {name: float(coefficient) for name, coefficient in terms.items()}
        negative = {name: value for name, value in self.coefficients.items() if not value >= 0}
        if negative:
            raise ValueError(f"invalid loss coefficients {negative}; expected values >= 0")

        losses: dict[str, _CellLoss] = {}
        if "bce" in terms:
            losses["bce"] = CellBCELoss(weight_transform, threshold)
        if "focal" in terms:
            losses["focal"] = CellFocalLoss(focal_gamma, focal_alpha, weight_transform, threshold)
        if "dice" in terms:
            losses["dice"] = CellDiceLoss(dice_smooth, weight_transform, threshold)
        self.losses = nn.ModuleDict(losses)
        self.weight_transform = weight_transform
        self.threshold = float(threshold)

    def compute_terms(self, logits: torch.Tensor, data: Data) -> dict[str, torch.Tensor]:
        """Compute each term without its coefficient, for logging; keys are the term names."""
        cells = select_cells(logits, data)
        weight = transform_weights(cells.energy, self.weight_transform, batch=cells.batch, threshold=self.threshold)
        weight = weight.to(cells.logits.dtype)
        return {name: loss._loss(cells.logits, cells.target, weight) for name, loss in self.losses.items()}

    def forward(self, logits: torch.Tensor, data: Data) -> torch.Tensor:
        """Compute the sum of the terms times their coefficients."""
        terms = self.compute_terms(logits, data)
        # The padding logits may be NaN, so the sum must not start from them.
        return sum(self.coefficients[name] * value for name, value in terms.items())

    def extra_repr(self) -> str:
        return f"coefficients={self.coefficients}, weight_transform={self.weight_transform!r}"


def _batch_vector(data: Data) -> torch.Tensor:
    batch = getattr(data, "batch", None)
    return torch.zeros_like(data.category) if batch is None else batch


def _weighted_mean(losses: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    total = weight.sum()
    if total <= 0:
        return losses.sum() * 0.0
    return (weight * losses).sum() / total


def _check_transform(transform: str) -> None:
    if transform not in WEIGHT_TRANSFORMS:
        raise ValueError(f"unknown weight transform {transform!r}; expected one of {WEIGHT_TRANSFORMS}")

