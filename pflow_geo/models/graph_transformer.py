r"""Transformer segmentation: multi-head self-attention among all points of a cloud.

Every point attends to every real point of its own cloud, which is attention
on the complete graph of the cloud, with the scaled dot-product attention of
`Vaswani et al. 2017 <https://arxiv.org/abs/1706.03762>`_:

.. math::
    \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{Q K^\top}{\sqrt{d}} + M\right) V,

where the key-padding mask :math:`M` is :math:`-\infty` for the slots that
:func:`~torch_geometric.utils.to_dense_batch` adds to make the clouds of a
batch the same length. The input of each point is the sum of four
embeddings:

* a linear map of the encoded feature columns,
* a learned vector per category (focus-track intersection, cell, other-track intersection),
* an MLP of the ``energy`` column,
* an MLP of the position relative to the cloud's centroid.

Pre-norm encoder layers follow, then a per-point head.

Padding points are removed before the dense layout, so they are never keys,
queries or part of the centroid; they get logit 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter, to_dense_batch

from ..ops import select_real_points
from .inputs import PointFeatureEncoder
from .pointnet2 import pointwise_mlp
from .registry import register_model

__all__ = ["GraphTransformerSegmentation"]

_NUM_REAL_CATEGORIES = 3


@register_model("graph_transformer")
class GraphTransformerSegmentation(nn.Module):
    """Per-point segmentation by full self-attention within each cloud.

    Args:
        feature_names: Names of the columns of ``data.x``, in order; must
            include ``category`` and ``energy``.
        channels: Width of the point embeddings (the attention's model dimension).
        num_heads: Number of attention heads; must divide ``channels``.
        num_layers: Number of encoder layers.
        feedforward_channels: Hidden width of each encoder layer's feed-forward MLP.
        length_scale_mm: Length in mm by which positions relative to the
            centroid are divided before their embedding.
        head_channels: Hidden width of the per-point head.
        dropout: Dropout probability in the encoder layers and the head.

    Raises:
        ValueError: If ``energy`` is not a feature column, ``num_heads`` does
            not divide ``channels``, or ``length_scale_mm`` is not positive.

    Shapes:
        - input: a ``Data`` or ``Batch`` with ``x`` ``[N, len(feature_names)]``,
          ``pos`` ``[N, 3]`` (mm) and, for a batch, ``batch`` ``[N]``
        - output: logits ``[N]``; 0 at padding points
    """

    # NOTE: attention memory grows with the square of the largest cloud in the
    # batch, up to clouds x heads x n_max^2 scores when PyTorch uses its plain
    # attention kernel. Batches of clouds with thousands of points may need a
    # smaller batch size than the kNN models.
    def __init__(
        self,
        feature_names: Sequence[str],
        *,
        channels: int = 64,
        num_heads: int = 4,
        num_layers: int = 4,
        feedforward_channels: int = 128,
        length_scale_mm: float = 100.0,
        head_channels: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if channels % num_heads != 0:
            raise ValueError(f"num_heads ({num_heads}) must divide channels ({channels})")
        if not length_scale_mm > 0:
            raise ValueError(f"length_scale_mm must be positive, got {length_scale_mm}")
        self.length_scale_mm = length_scale_mm
        self.encoder = PointFeatureEncoder(feature_names)
        if "energy" not in self.encoder.feature_names:
            raise ValueError(f"feature_names must contain 'energy', got {self.encoder.feature_names}")
        self._category_column = self.encoder.feature_names.index("category")
        self._energy_column = self.encoder.feature_names.index("energy")

        self.feature_embedding = nn.Linear(self.encoder.out_channels, channels)
        self.category_embedding = nn.Embedding(_NUM_REAL_CATEGORIES, channels)
        self.energy_embedding = pointwise_mlp([1, channels, channels], plain_last=True)
        self.position_embedding = pointwise_mlp([3, channels, channels], plain_last=True)

        layer = nn.TransformerEncoderLayer(
            channels,
            num_heads,
            dim_feedforward=feedforward_channels,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.transformer = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(channels), enable_nested_tensor=False
        )
        self.head = pointwise_mlp([channels, head_channels, 1], plain_last=True, dropout=dropout)

    def forward(self, data: Data) -> Tensor:
        points = select_real_points(data, self._category_column)
        # Clouds without real points are dropped from the dense layout, so that
        # no row has all its keys masked (a softmax over no keys is undefined).
        _, batch = torch.unique_consecutive(points.batch, return_inverse=True)
        num_clouds = int(batch.max()) + 1 if batch.numel() > 0 else 0

        category = points.x[:, self._category_column].round().long().clamp(0, _NUM_REAL_CATEGORIES - 1)
        energy = points.x[:, self._energy_column : self._energy_column + 1]
        centroid = scatter(points.pos, batch, dim=0, dim_size=num_clouds, reduce="mean")
        relative_pos = (points.pos - centroid[batch]) / self.length_scale_mm
        x = (
            self.feature_embedding(self.encoder(points.x))
            + self.category_embedding(category)
            + self.energy_embedding(energy)
            + self.position_embedding(relative_pos)
        )

        if num_clouds > 0:
            dense, mask = to_dense_batch(x, batch, batch_size=num_clouds)
            x = self.transformer(dense, src_key_padding_mask=~mask)[mask]
        logits = self.head(x).squeeze(-1)
        return points.to_all_points(logits)

    def extra_repr(self) -> str:
        return f"length_scale_mm={self.length_scale_mm}"
