"""Choice of the clouds shown as event displays."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from pflow_geo.training.callbacks import select_display_clouds


def _cloud(labels: list[int], tracks: int = 1) -> Data:
    category = torch.tensor([0] * tracks + [1] * len(labels))
    y = torch.tensor([0] * tracks + labels, dtype=torch.float32)
    return Data(category=category, y=y)


def test_displays_spread_over_mixed_clouds() -> None:
    clouds = [_cloud([1, 0, 1]) if index % 2 == 0 else _cloud([1, 1, 1]) for index in range(10)]
    # Mixed clouds are 0, 2, 4, 6, 8; three spread evenly are the first, middle and last.
    assert select_display_clouds(clouds, 3, min_cells=3) == [0, 4, 8]


def test_displays_fill_up_with_other_clouds() -> None:
    clouds = [_cloud([]), _cloud([1, 1]), _cloud([0, 1, 0, 1]), _cloud([0])]
    assert select_display_clouds(clouds, 3, min_cells=3) == [2, 1, 3]


def test_displays_scan_limit() -> None:
    clouds = [_cloud([1])] * 5 + [_cloud([1, 0, 1])]
    assert select_display_clouds(clouds, 1, min_cells=3, max_scanned=5) == [0]
