"""Separation of the real points of a batch from its padding points.

Models run on the real points only, so padding can never reach neighbour
search, sampling, attention or normalisation statistics, and then put their
per-point outputs back in the order of the full batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..datasets.fields import Category

__all__ = ["RealPoints", "select_real_points"]


@dataclass(frozen=True)
class RealPoints:
    """The non-padding points of a batch of clouds.

    Attributes:
        index: Position of each real point in the full batch, ``[num_real]`` int64.
        x: Feature columns of the real points, ``[num_real, F]``.
        pos: Positions in mm, ``[num_real, 3]``.
        batch: Sorted cloud index of each real point, ``[num_real]`` int64.
        batch_size: Number of clouds, including clouds made only of padding.
        num_points: Number of points in the full batch, padding included.
    """

    index: Tensor
    x: Tensor
    pos: Tensor
    batch: Tensor
    batch_size: int
    num_points: int

    def to_all_points(self, values: Tensor, fill_value: float = 0.0) -> Tensor:
        """Place per-real-point ``values`` into a tensor over all points, ``fill_value`` at padding.

        Gradients flow back to ``values``.

        Shapes:
            - values: ``[num_real, *]``
            - output: ``[num_points, *]``
        """
        full = values.new_full((self.num_points, *values.shape[1:]), fill_value)
        return full.index_copy(0, self.index, values)


def select_real_points(data: Data, category_column: int) -> RealPoints:
    """Select the points of ``data`` whose category is not padding.

    The category is read from column ``category_column`` of ``data.x``, which
    is the column that the model's input encoder reads.

    Args:
        data: A cloud or a batch of clouds with ``x``, ``pos`` and, for a batch, ``batch``.
        category_column: Index of the ``category`` column in ``data.x``.

    Returns:
        The real points and the layout needed to scatter results back.
    """
    x = data.x
    category = x[:, category_column].round().long()
    index = (category != Category.PADDING).nonzero().view(-1)

    batch = data.batch
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        batch_size = 1
    else:
        batch_size = getattr(data, "num_graphs", None)
        if batch_size is None:
            batch_size = int(batch.max()) + 1 if batch.numel() > 0 else 1

    return RealPoints(
        index=index,
        x=x[index],
        pos=data.pos[index],
        batch=batch[index],
        batch_size=int(batch_size),
        num_points=x.size(0),
    )
