r"""PointNet++ segmentation with set abstraction and feature propagation.

The network follows `PointNet++ <https://arxiv.org/abs/1706.02413>`_ (Qi et
al., NeurIPS 2017). Each set-abstraction level samples centres by farthest
point sampling, groups the points closer than a radius around each centre,
and runs a shared MLP on every group member followed by a max:

.. math::
    \mathbf{x}'_i = \max_{j \in \mathcal{N}_r(i)}
        h_\Theta\left(\mathbf{x}_j \,\|\, (\mathbf{p}_j - \mathbf{p}_i) / r\right)

Feature propagation then carries the features back down, one level at a
time. Each point of the finer level gets the inverse-squared-distance
weighted mean of the features of its 3 nearest coarse points, concatenated
with its own skip features of that level, through a shared MLP. A per-point
head turns the features of the input points into logits.

Two choices make the output independent of the order of the points (ties
aside): sampling starts in each cloud at the point farthest from the cloud's
centroid instead of a random or the first point, and a group with more than
``max_num_neighbors`` points keeps the nearest ones instead of the first ones
found. Padding points are removed before the first level; they get logit 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import MLP, PointNetConv

from ..ops import farthest_from_centroid, fps, knn_interpolate, radius, select_real_points
from .inputs import PointFeatureEncoder
from .registry import register_model

__all__ = ["PointNet2Segmentation", "SetAbstraction", "FeaturePropagation", "pointwise_mlp"]


def pointwise_mlp(channels: Sequence[int], plain_last: bool = False, dropout: float = 0.0) -> MLP:
    """Build a shared MLP with per-point layer normalisation and ReLU.

    Layer normalisation acts on each point alone, so no statistic mixes
    points, clouds or padding, and training works on a batch of a single point.
    """
    return MLP(
        list(channels),
        norm="layer_norm",
        norm_kwargs={"mode": "node"},
        plain_last=plain_last,
        dropout=dropout,
    )


class SetAbstraction(nn.Module):
    """One set-abstraction level: sample centres, group by radius, pool a shared MLP.

    Args:
        in_channels: Width of the input point features.
        out_channels: Width of the features of the sampled centres.
        ratio: Fraction of each cloud's points kept as centres, in ``(0, 1]``.
        radius_mm: Grouping radius in mm; local offsets are divided by it.
        max_num_neighbors: Maximum group size; the nearest points are kept.

    Shapes:
        - input: x ``[N, in_channels]``, pos ``[N, 3]`` (mm), batch ``[N]``
        - output: x ``[S, out_channels]``, pos ``[S, 3]``, batch ``[S]``
    """

    def __init__(
        self, in_channels: int, out_channels: int, ratio: float, radius_mm: float, max_num_neighbors: int
    ) -> None:
        super().__init__()
        self.ratio = ratio
        self.radius_mm = radius_mm
        self.max_num_neighbors = max_num_neighbors
        local_nn = pointwise_mlp([in_channels + 3, out_channels, out_channels, out_channels])
        self.conv = PointNetConv(local_nn=local_nn, global_nn=None, add_self_loops=False)

    def forward(self, x: Tensor, pos: Tensor, batch: Tensor, batch_size: int) -> tuple[Tensor, Tensor, Tensor]:
        start = farthest_from_centroid(pos, batch, batch_size)
        centres = fps(pos, batch, self.ratio, batch_size=batch_size, start_index=start)
        centre_pos, centre_batch = pos[centres], batch[centres]

        # Every centre is one of the points, so each group contains at least its centre.
        centre, member = radius(
            pos, centre_pos, self.radius_mm, batch, centre_batch, self.max_num_neighbors, batch_size=batch_size
        )
        edge_index = torch.stack([member, centre])
        scaled = pos / self.radius_mm
        x = self.conv((x, None), (scaled, scaled[centres]), edge_index)
        return x, centre_pos, centre_batch

    def extra_repr(self) -> str:
        return f"ratio={self.ratio}, radius_mm={self.radius_mm}, max_num_neighbors={self.max_num_neighbors}"


class FeaturePropagation(nn.Module):
    """One feature-propagation level: kNN interpolation onto finer points, skip concatenation, shared MLP.

    Args:
        in_channels: Width of the coarse features.
        skip_channels: Width of the skip features of the finer points.
        out_channels: Width of the output features.
        k: Number of coarse points interpolated from.

    Shapes:
        - input: x ``[S, in_channels]`` on pos ``[S, 3]``; skip ``[N, skip_channels]`` on pos_fine ``[N, 3]``
        - output: ``[N, out_channels]``
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, k: int) -> None:
        super().__init__()
        self.k = k
        self.mlp = pointwise_mlp([in_channels + skip_channels, out_channels, out_channels])

    def forward(
        self,
        x: Tensor,
        pos: Tensor,
        batch: Tensor,
        skip: Tensor,
        pos_fine: Tensor,
        batch_fine: Tensor,
        batch_size: int,
    ) -> Tensor:
        upsampled = knn_interpolate(x, pos, pos_fine, batch, batch_fine, k=self.k, batch_size=batch_size)
        return self.mlp(torch.cat([upsampled, skip], dim=1))


@register_model("pointnet2")
class PointNet2Segmentation(nn.Module):
    """PointNet++ per-point segmentation (multi-level set abstraction and feature propagation).

    Args:
        feature_names: Names of the columns of ``data.x``, in order.
        input_channels: Width of the per-point embedding before the first level.
        ratios: Sampling ratio of each set-abstraction level.
        radii_mm: Grouping radius of each level, in mm.
        sa_channels: Output width of each set-abstraction level.
        fp_channels: Output width of each feature-propagation level, from the
            coarsest to the finest (one per set-abstraction level).
        max_num_neighbors: Maximum group size at every level.
        interpolation_k: Number of coarse points each finer point interpolates from.
        head_channels: Hidden width of the per-point head.
        dropout: Dropout probability in the head.

    Raises:
        ValueError: If the per-level sequences differ in length or are empty.

    Shapes:
        - input: a ``Data`` or ``Batch`` with ``x`` ``[N, len(feature_names)]``,
          ``pos`` ``[N, 3]`` (mm) and, for a batch, ``batch`` ``[N]``
        - output: logits ``[N]``; 0 at padding points
    """

    # NOTE: the default radii are untuned estimates from the ATLAS cell sizes.
    # Cells of 0.025 x 0.025 in eta x phi in the EM middle layer are about
    # 40 mm wide, and cells of 0.1 x 0.1 in the Tile calorimeter 230 to 380 mm.
    def __init__(
        self,
        feature_names: Sequence[str],
        *,
        input_channels: int = 64,
        ratios: Sequence[float] = (0.5, 0.25, 0.25),
        radii_mm: Sequence[float] = (100.0, 250.0, 600.0),
        sa_channels: Sequence[int] = (128, 256, 256),
        fp_channels: Sequence[int] = (256, 128, 128),
        max_num_neighbors: int = 32,
        interpolation_k: int = 3,
        head_channels: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        num_levels = len(ratios)
        lengths = {"ratios": len(ratios), "radii_mm": len(radii_mm), "sa_channels": len(sa_channels), "fp_channels": len(fp_channels)}
        if num_levels == 0 or len(set(lengths.values())) != 1:
            raise ValueError(f"ratios, radii_mm, sa_channels and fp_channels need the same non-zero length, got {lengths}")

        self.encoder = PointFeatureEncoder(feature_names)
        self._category_column = self.encoder.feature_names.index("category")
        self.embedding = pointwise_mlp([self.encoder.out_channels, input_channels, input_channels])

        widths = [input_channels, *sa_channels]
        self.abstractions = nn.ModuleList(
            SetAbstraction(widths[level], widths[level + 1], ratios[level], radii_mm[level], max_num_neighbors)
            for level in range(num_levels)
        )
        # Propagation runs from the coarsest level down. Step s maps level L - s onto the points of level L - s - 1.
        coarse_widths = [sa_channels[-1], *fp_channels[:-1]]
        skip_widths = widths[-2::-1]
        self.propagations = nn.ModuleList(
            FeaturePropagation(coarse_widths[step], skip_widths[step], fp_channels[step], interpolation_k)
            for step in range(num_levels)
        )
        self.head = pointwise_mlp([fp_channels[-1], head_channels, 1], plain_last=True, dropout=dropout)

    def forward(self, data: Data) -> Tensor:
        points = select_real_points(data, self._category_column)
        x = self.embedding(self.encoder(points.x))
        levels = [(x, points.pos, points.batch)]
        for abstraction in self.abstractions:
            levels.append(abstraction(*levels[-1], points.batch_size))

        x, pos, batch = levels[-1]
        for propagation, (skip, pos_fine, batch_fine) in zip(self.propagations, reversed(levels[:-1])):
            x = propagation(x, pos, batch, skip, pos_fine, batch_fine, points.batch_size)
            pos, batch = pos_fine, batch_fine

        logits = self.head(x).squeeze(-1)
        return points.to_all_points(logits)
