r"""DGCNN segmentation: EdgeConv on kNN graphs rebuilt in feature space at every layer.

The network follows `Dynamic Graph CNN <https://arxiv.org/abs/1801.07829>`_
(Wang et al., ACM TOG 2019). Layer :math:`l` joins each point to its ``k``
nearest points (itself included) and applies

.. math::
    \mathbf{x}^{(l+1)}_i = \max_{j \in \mathcal{N}^{(l)}_k(i)}
        h_\Theta\left(\mathbf{x}^{(l)}_i \,\|\, \mathbf{x}^{(l)}_j - \mathbf{x}^{(l)}_i\right),

where :math:`\mathcal{N}^{(l)}_k` is the kNN graph of the positions for the
first layer and of the layer's input features for the others. The outputs of
all layers are concatenated, embedded, max-pooled per cloud, and the cloud
feature is appended to every point before the per-point head.

Padding points are removed first, so they never enter a kNN graph or a pool;
they get logit 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import EdgeConv, global_max_pool

from ..ops import knn_graph, select_real_points
from .inputs import PointFeatureEncoder
from .pointnet2 import pointwise_mlp
from .registry import register_model

__all__ = ["DGCNNSegmentation"]


@register_model("dgcnn")
class DGCNNSegmentation(nn.Module):
    """DGCNN per-point segmentation with dynamic kNN graphs.

    Args:
        feature_names: Names of the columns of ``data.x``, in order.
        k: Number of neighbours of each point (itself included) in every graph.
        conv_channels: Output width of each EdgeConv layer.
        embedding_channels: Width of the per-point embedding that is max-pooled into the cloud feature.
        head_channels: Hidden widths of the per-point head.
        dropout: Dropout probability in the head.

    Raises:
        ValueError: If ``conv_channels`` is empty or ``k`` is below 1.

    Shapes:
        - input: a ``Data`` or ``Batch`` with ``x`` ``[N, len(feature_names)]``,
          ``pos`` ``[N, 3]`` (mm) and, for a batch, ``batch`` ``[N]``
        - output: logits ``[N]``; 0 at padding points
    """

    def __init__(
        self,
        feature_names: Sequence[str],
        *,
        k: int = 16,
        conv_channels: Sequence[int] = (64, 64, 128),
        embedding_channels: int = 512,
        head_channels: Sequence[int] = (256, 128),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not conv_channels:
            raise ValueError("conv_channels must name at least one EdgeConv layer")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k = k
        self.encoder = PointFeatureEncoder(feature_names)
        self._category_column = self.encoder.feature_names.index("category")

        widths = [self.encoder.out_channels, *conv_channels]
        self.convs = nn.ModuleList(
            EdgeConv(pointwise_mlp([2 * widths[layer], widths[layer + 1], widths[layer + 1]]), aggr="max")
            for layer in range(len(conv_channels))
        )
        self.embedding = pointwise_mlp([sum(conv_channels), embedding_channels])
        self.head = pointwise_mlp(
            [sum(conv_channels) + embedding_channels, *head_channels, 1], plain_last=True, dropout=dropout
        )

    def forward(self, data: Data) -> Tensor:
        points = select_real_points(data, self._category_column)
        x = self.encoder(points.x)
        batch, batch_size = points.batch, points.batch_size

        graph_space = points.pos
        layer_outputs = []
        for conv in self.convs:
            edge_index = knn_graph(graph_space, self.k, batch, loop=True, batch_size=batch_size)
            x = conv(x, edge_index)
            layer_outputs.append(x)
            graph_space = x

        local = torch.cat(layer_outputs, dim=1)
        cloud = global_max_pool(self.embedding(local), batch, size=batch_size)
        logits = self.head(torch.cat([local, cloud[batch]], dim=1)).squeeze(-1)
        return points.to_all_points(logits)

    def extra_repr(self) -> str:
        return f"k={self.k}"
