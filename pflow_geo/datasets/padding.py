"""Fixed-size clouds for parity with pipelines that pad every cloud to the same length."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .fields import Category
from .storage import Columns

__all__ = ["TruncationStats", "pad_columns", "PADDING_VALUES"]

# Value of each per-point column on padding points; columns not listed get 0.
PADDING_VALUES = {"category": int(Category.PADDING), "cell_id": -1, "cluster": -1, "layer": -1}


@dataclass
class TruncationStats:
    """What padding to a fixed size cut from clouds that were too long.

    Attributes:
        max_points: The fixed cloud size.
        clouds: Clouds seen.
        clouds_truncated: Clouds longer than ``max_points``.
        points_cut: Points removed in total.
        cells_cut: Cell points removed in total.
        energy_cut_gev: Cell energy removed, in GeV.
        energy_total_gev: Cell energy of all clouds before the cut, in GeV.
    """

    max_points: int
    clouds: int = 0
    clouds_truncated: int = 0
    points_cut: int = 0
    cells_cut: int = 0
    energy_cut_gev: float = 0.0
    energy_total_gev: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def pad_columns(columns: Columns, max_points: int, category_column: int) -> tuple[Columns, TruncationStats]:
    """Pad or cut every cloud to exactly ``max_points`` points.

    Clouds longer than ``max_points`` lose their cells farthest in ΔR from the
    focus track first; track points are cut only when they alone exceed the
    size, farthest first. Kept points stay in their original order, followed by
    padding points (category -1, zero weight, zero features except the
    category column of ``x``, which is -1).

    Args:
        columns: Variable-size clouds.
        max_points: The fixed size.
        category_column: Column of ``x`` that holds the category.

    Returns:
        The padded clouds and the truncation statistics.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    points = columns.points
    sizes = columns.sizes.numpy()
    num_clouds = len(sizes)
    total = int(sizes.sum())
    cloud = np.repeat(np.arange(num_clouds), sizes)
    start = columns.ptr[:-1].numpy()

    # Rank points inside each cloud: non-cells first, then cells by increasing ΔR.
    category = points["category"].numpy()
    is_cell = category == int(Category.CELL)
    delta_r = points["delta_r"].numpy().astype(np.float64)
    order = np.lexsort((np.arange(total), delta_r, is_cell, cloud))
    rank = np.empty(total, dtype=np.int64)
    rank[order] = np.arange(total) - start[cloud[order]]
    keep = rank < max_points

    weight = points["weight"].numpy().astype(np.float64)
    stats = TruncationStats(
        max_points=max_points,
        clouds=num_clouds,
        clouds_truncated=int((sizes > max_points).sum()),
        points_cut=int((~keep).sum()),
        cells_cut=int((~keep & is_cell).sum()),
        energy_cut_gev=float(weight[~keep & is_cell].sum()),
        energy_total_gev=float(weight[is_cell].sum()),
    )

    # Slot of each kept point: its position among the kept points of its cloud.
    kept_before = np.cumsum(keep) - keep
    slot = kept_before - kept_before[start][cloud] if total else kept_before
    target = torch.from_numpy((cloud * max_points + slot)[keep])
    keep_tensor = torch.from_numpy(keep)

    padded_points = {}
    for name, values in points.items():
        shape = (num_clouds * max_points,) + tuple(values.shape[1:])
        out = torch.full(shape, PADDING_VALUES.get(name, 0), dtype=values.dtype)
        if name == "x":
            out[:, category_column] = float(Category.PADDING)
        out[target] = values[keep_tensor]
        padded_points[name] = out
    ptr = torch.arange(num_clouds + 1, dtype=torch.int64) * max_points
    return Columns(padded_points, dict(columns.clouds), ptr), stats
