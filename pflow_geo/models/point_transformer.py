r"""Point Transformer segmentation: vector self-attention on kNN graphs.

The attention layer is the one of `Point Transformer
<https://arxiv.org/abs/2012.09164>`_ (Zhao et al., ICCV 2021), PyG's
:class:`~torch_geometric.nn.conv.PointTransformerConv`:

.. math::
    \mathbf{y}_i = \sum_{j \in \mathcal{N}_k(i)}
        \rho\left(\gamma\left(\varphi(\mathbf{x}_i) - \psi(\mathbf{x}_j) + \delta_{ij}\right)\right)
        \odot \left(\alpha(\mathbf{x}_j) + \delta_{ij}\right),
    \qquad \delta_{ij} = \theta\left((\mathbf{p}_i - \mathbf{p}_j) / s\right),

with :math:`\rho` a softmax over the neighbours taken per channel,
:math:`\gamma` and :math:`\theta` two-layer MLPs, :math:`\varphi, \psi,
\alpha` linear maps and :math:`s` a length scale. Each block wraps the layer
as in the paper, :math:`\mathbf{x} + \mathrm{Linear}(\mathrm{PT}(\mathrm{Linear}(\mathbf{x})))`,
with layer normalisation in front.

This is a single-resolution variant. All blocks run on the kNN graph of the
input points, and the paper's transition-down and transition-up layers
(sampling and interpolation between resolutions) are left out, because the
clouds contain only hundreds to a few thousand points. A max-pooled cloud
feature is appended to every point before the per-point head, which gives
each point context beyond its neighbourhood. Padding points are removed
first, and they get logit 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import PointTransformerConv, global_max_pool

from ..ops import knn_graph, select_real_points
from .inputs import PointFeatureEncoder
from .pointnet2 import pointwise_mlp
from .registry import register_model

__all__ = ["PointTransformerSegmentation", "PointTransformerBlock"]


class PointTransformerBlock(nn.Module):
    """Residual block around one vector self-attention layer.

    Args:
        channels: Width of the point features.

    Shapes:
        - input: x ``[N, channels]``, pos ``[N, 3]`` (already divided by the length scale),
          edge_index ``[2, E]``
        - output: ``[N, channels]``
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.linear_in = nn.Linear(channels, channels)
        self.attention = PointTransformerConv(
            channels,
            channels,
            pos_nn=pointwise_mlp([3, channels, channels], plain_last=True),
            attn_nn=pointwise_mlp([channels, channels, channels], plain_last=True),
            add_self_loops=False,
        )
        self.linear_out = nn.Linear(channels, channels)

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor) -> Tensor:
        update = self.linear_in(self.norm(x)).relu()
        update = self.attention(update, pos, edge_index).relu()
        return x + self.linear_out(update)


@register_model("point_transformer")
class PointTransformerSegmentation(nn.Module):
    """Point Transformer per-point segmentation on the kNN graph of the positions.

    Args:
        feature_names: Names of the columns of ``data.x``, in order.
        channels: Width of the point features in every block.
        num_blocks: Number of attention blocks.
        k: Number of neighbours of each point, itself included.
        length_scale_mm: Length in mm by which relative positions are divided
            before the position encoding.
        head_channels: Hidden width of the per-point head.
        dropout: Dropout probability in the head.

    Raises:
        ValueError: If ``num_blocks`` or ``k`` is below 1 or ``length_scale_mm`` is not positive.

    Shapes:
        - input: a ``Data`` or ``Batch`` with ``x`` ``[N, len(feature_names)]``,
          ``pos`` ``[N, 3]`` (mm) and, for a batch, ``batch`` ``[N]``
        - output: logits ``[N]``; 0 at padding points
    """

    def __init__(
        self,
        feature_names: Sequence[str],
        *,
        channels: int = 64,
        num_blocks: int = 4,
        k: int = 16,
        length_scale_mm: float = 100.0,
        head_channels: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_blocks < 1 or k < 1:
            raise ValueError(f"num_blocks and k must be at least 1, got {num_blocks} and {k}")
        if not length_scale_mm > 0:
            raise ValueError(f"length_scale_mm must be positive, got {length_scale_mm}")
        self.k = k
        self.length_scale_mm = length_scale_mm
        self.encoder = PointFeatureEncoder(feature_names)
        self._category_column = self.encoder.feature_names.index("category")
        self.embedding = pointwise_mlp([self.encoder.out_channels, channels, channels])
        self.blocks = nn.ModuleList(PointTransformerBlock(channels) for _ in range(num_blocks))
        self.norm = nn.LayerNorm(channels)
        self.head = pointwise_mlp([2 * channels, head_channels, 1], plain_last=True, dropout=dropout)

    def forward(self, data: Data) -> Tensor:
        points = select_real_points(data, self._category_column)
        batch, batch_size = points.batch, points.batch_size
        edge_index = knn_graph(points.pos, self.k, batch, loop=True, batch_size=batch_size)
        pos = points.pos / self.length_scale_mm

        x = self.embedding(self.encoder(points.x))
        for block in self.blocks:
            x = block(x, pos, edge_index)
        x = self.norm(x)

        cloud = global_max_pool(x, batch, size=batch_size)
        logits = self.head(torch.cat([x, cloud[batch]], dim=1)).squeeze(-1)
        return points.to_all_points(logits)

    def extra_repr(self) -> str:
        return f"k={self.k}, length_scale_mm={self.length_scale_mm}"
