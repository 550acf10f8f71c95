"""Reference methods evaluated on the same clouds as the model: constants, a ΔR cone and cell subtraction.

Typical use::

    baselines = fit_baselines(train_clouds)
    probabilities = baselines.predict(test_clouds)        # {method: [per-point array per cloud]}
    probabilities["model"] = model_probabilities
    table = build_table(test_clouds, probabilities)

Every baseline returns, per cloud, one float32 value per point: a 0/1
assignment for cells and 0 for every other point.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from torch_geometric.data import Data

from .cells import CloudCells, as_cells
from .scores import energy_weighted_f1
from .subtraction import CellSubtraction

__all__ = ["CONE_RADII", "BASELINE_METHODS", "ConeBaseline", "Baselines", "fit_baselines", "constant_predictions"]

logger = logging.getLogger(__name__)

# Cone radii tried by ConeBaseline.fit: 0.01 to 0.20 in steps of 0.01. With
# the dataset's default cloud cone of ΔR < 0.2 the last radius assigns every cell.
CONE_RADII: tuple[float, ...] = tuple(round(0.01 * step, 2) for step in range(1, 21))

# Method names of the baselines, as used for the prediction-table columns.
BASELINE_METHODS = ("always_1", "always_0", "cone", "subtraction")


def constant_predictions(clouds: Iterable[Data | CloudCells], value: float) -> list[np.ndarray]:
    """Assign every cell the same value (1 = all cells to the track, 0 = none); other points get 0."""
    outputs = []
    for cells in as_cells(clouds):
        output = np.zeros(cells.num_points, dtype=np.float32)
        output[cells.point_index] = value
        outputs.append(output)
    return outputs


class ConeBaseline:
    """Assign the cells with ``delta_r < radius`` to the focus track.

    ``delta_r`` is the cell's angular distance to the focus track's reference
    direction. :meth:`fit` picks the radius of ``radii`` with the highest
    energy-weighted F1 on the training clouds; ties go to the smaller radius.

    Args:
        radii: Candidate radii, default :data:`CONE_RADII`.

    Attributes:
        radius: The chosen radius, None before :meth:`fit`.
        scores: Energy-weighted F1 on the training clouds per candidate radius, set by :meth:`fit`.
    """

    def __init__(self, radii: Sequence[float] = CONE_RADII) -> None:
        if len(radii) == 0 or any(not radius > 0 for radius in radii):
            raise ValueError(f"radii must be a non-empty list of positive values, got {list(radii)}")
        self.radii = tuple(float(radius) for radius in radii)
        self.radius: float | None = None
        self.scores: dict[float, float] = {}

    def fit(self, train_clouds: Iterable[Data | CloudCells]) -> ConeBaseline:
        """Choose the radius that maximises the energy-weighted F1 on the training clouds.

        Raises:
            ValueError: If the training clouds have no cell.
        """
        cells_list = as_cells(train_clouds)
        if not any(cells.num_cells for cells in cells_list):
            raise ValueError("the training clouds have no cell; cannot tune the cone radius")
        delta_r = np.concatenate([cells.delta_r for cells in cells_list])
        labels = np.concatenate([cells.label for cells in cells_list])
        energy = np.concatenate([cells.energy for cells in cells_list])

        self.scores = {radius: energy_weighted_f1(labels, delta_r < radius, energy) for radius in self.radii}
        # max() keeps the first of equal scores, which is the smaller radius after sorting.
        self.radius = max(sorted(self.radii), key=lambda radius: self.scores[radius])
        logger.info("cone baseline: radius %.2f, energy-weighted F1 %.4f on training", self.radius, self.scores[self.radius])
        return self

    def predict(self, clouds: Iterable[Data | CloudCells]) -> list[np.ndarray]:
        """Assign cells inside the fitted cone; one float32 array per cloud with one value per point.

        Raises:
            RuntimeError: If :meth:`fit` has not been called.
        """
        if self.radius is None:
            raise RuntimeError("ConeBaseline is not fitted; call fit(train_clouds) first")
        outputs = []
        for cells in as_cells(clouds):
            output = np.zeros(cells.num_points, dtype=np.float32)
            output[cells.point_index] = (cells.delta_r < self.radius).astype(np.float32)
            outputs.append(output)
        return outputs


@dataclass
class Baselines:
    """The fitted baselines of :data:`BASELINE_METHODS`.

    Attributes:
        cone: The ΔR cone with its tuned radius.
        subtraction: The cell subtraction with its training E/p and ring order.
    """

    cone: ConeBaseline
    subtraction: CellSubtraction

    def predict(self, clouds: Iterable[Data | CloudCells]) -> dict[str, list[np.ndarray]]:
        """Run every baseline on the clouds.

        Args:
            clouds: The evaluation clouds, all clouds of an event together.

        Returns:
            For each name of :data:`BASELINE_METHODS`, one float32 array per
            cloud with one value per point, ready for
            :func:`~pflow_geo.evaluation.predictions.build_table`.
        """
        cells_list = as_cells(clouds)
        return {
            "always_1": constant_predictions(cells_list, 1.0),
            "always_0": constant_predictions(cells_list, 0.0),
            "cone": self.cone.predict(cells_list),
            "subtraction": self.subtraction.predict(cells_list),
        }


def fit_baselines(
    train_clouds: Iterable[Data | CloudCells],
    cone_radii: Sequence[float] = CONE_RADII,
    subtraction: CellSubtraction | None = None,
) -> Baselines:
    """Fit the cone radius and the cell-subtraction template on the training clouds.

    Args:
        train_clouds: Clouds of the training split.
        cone_radii: Candidate cone radii.
        subtraction: An unfitted :class:`CellSubtraction` with non-default
            settings; the defaults when None.

    Returns:
        The fitted baselines.
    """
    cells_list = as_cells(train_clouds)
    cone = ConeBaseline(cone_radii).fit(cells_list)
    subtraction = (CellSubtraction() if subtraction is None else subtraction).fit(cells_list)
    return Baselines(cone=cone, subtraction=subtraction)
