"""PointNet segmentation over PyG batches of variable-size or padded clouds.

The network follows `PointNet <https://arxiv.org/abs/1612.00593>`_ (Qi et al.,
CVPR 2017). Shared per-point MLPs and optional T-Nets, which predict an input
and a feature transform per cloud, feed a max pool per cloud. A per-point head
then reads each point's feature concatenated with its cloud's global feature:

.. math::
    \\mathbf{g}_b = \\max_{i \\in b,\\ c_i \\neq -1} h_\\Theta(\\mathbf{x}_i),
    \\qquad
    \\ell_i = \\gamma_\\Phi(\\mathbf{f}_i \\,\\|\\, \\mathbf{g}_{b(i)})

Padding points (category -1) take part in no statistic: pooling and batch
normalisation see only real points, so a padded batch gives real points the
same logits as the same clouds unpadded. Padding points still get a logit,
computed from an all-zero input and their cloud's global feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import global_max_pool
from torch_geometric.utils import to_dense_batch

from ..datasets.fields import Category
from .inputs import PointFeatureEncoder
from .registry import register_model

__all__ = ["PointNetSegmentation", "TNet", "MaskedBatchNorm", "orthogonality_penalty"]

NormKind = Literal["batch", "layer", "none"]
PathKind = Literal["auto", "dense", "sparse"]
_NORM_KINDS = ("batch", "layer", "none")
_PATH_KINDS = ("auto", "dense", "sparse")
_COORDINATE_COLUMNS = ("x", "y", "z")


def orthogonality_penalty(matrices: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Compute the mean squared Frobenius norm of ``I - A A^T`` over clouds.

    This is the T-Net regulariser of PointNet: it is 0 for orthogonal
    matrices and pushes predicted transforms towards them.

    Args:
        matrices: Transforms ``A``, one per cloud.
        mask: Clouds to average over; the others are ignored. All clouds
            when ``None``.

    Returns:
        A scalar tensor, 0 when no cloud is selected.

    Shapes:
        - matrices: ``[num_clouds, k, k]``
        - mask: ``[num_clouds]`` bool
    """
    k = matrices.shape[-1]
    identity = torch.eye(k, dtype=matrices.dtype, device=matrices.device)
    residual = identity - matrices @ matrices.transpose(1, 2)
    per_cloud = residual.square().sum(dim=(1, 2))
    if mask is not None:
        per_cloud = per_cloud[mask]
    if per_cloud.numel() == 0:
        return matrices.sum() * 0.0
    return per_cloud.mean()


class MaskedBatchNorm(nn.BatchNorm1d):
    """Batch normalisation whose statistics come from the masked entries only.

    In training mode the mean and the biased variance are taken over the
    entries where ``mask`` is true, the running statistics are updated from
    them as :class:`torch.nn.BatchNorm1d` does, and every entry, masked or
    not, is normalised with them. In eval mode the running statistics are
    used. The parameters and buffers are those of ``BatchNorm1d``.

    Args:
        num_features: Number of channels ``C``.
        eps: Added to the variance for numerical stability.
        momentum: Weight of the batch statistics in the running statistics;
            ``None`` takes the cumulative average.

    Raises:
        ValueError: In training mode when exactly one entry is masked in,
            since its variance is undefined. With none, the running
            statistics are used and stay unchanged.

    Shapes:
        - input: ``[..., C]`` and mask ``[...]`` (bool)
        - output: ``[..., C]``
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if self.training or not self.track_running_stats:
            mean, variance = self._batch_statistics(x, mask)
        else:
            mean, variance = self.running_mean, self.running_var

        normalised = (x - mean) * torch.rsqrt(variance + self.eps)
        if self.affine:
            normalised = normalised * self.weight + self.bias
        return normalised

    def _batch_statistics(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        selected = x.reshape(-1, x.shape[-1])[mask.reshape(-1)]
        count = selected.shape[0]
        if count == 0 and self.track_running_stats:
            # Only padding: no output of this call reaches a real point or the loss.
            return self.running_mean, self.running_var
        if count < 2:
            raise ValueError(
                f"batch normalisation in training mode needs at least 2 real entries, got {count}. "
                "Use a larger batch, norm='layer', or eval mode."
            )

        # Half-precision inputs (autocast) get float32 statistics, which keeps the variance precise.
        selected = selected.to(torch.promote_types(selected.dtype, torch.float32))
        variance, mean = torch.var_mean(selected, dim=0, unbiased=False)
        if self.training and self.track_running_stats:
            self._update_running_statistics(mean, variance * count / (count - 1))
        return mean, variance

    @torch.no_grad()
    def _update_running_statistics(self, mean: torch.Tensor, unbiased_variance: torch.Tensor) -> None:
        self.num_batches_tracked += 1
        if self.momentum is None:
            factor = 1.0 / float(self.num_batches_tracked)
        else:
            factor = self.momentum
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_(unbiased_variance.to(self.running_var.dtype), factor)


class _CloudLayout:
    """Per-cloud operations on points stored flat ``[N, C]`` or dense ``[B, P, C]``.

    ``real`` marks the points that take part in statistics: in the flat layout
    it is ``[N]``, in the dense layout ``[B, P]`` and false for padding points
    and for the empty slots that :func:`to_dense_batch` adds to short clouds.
    """

    def __init__(
        self,
        real: torch.Tensor,
        num_clouds: int,
        batch: torch.Tensor | None,
        max_points: int,
    ) -> None:
        self.real = real
        self.num_clouds = num_clouds
        self.batch = batch
        self.max_points = max_points
        self.dense = batch is None
        if self.dense:
            self.cloud_has_real = real.any(dim=1)
        else:
            real_per_cloud = torch.zeros(num_clouds, dtype=torch.long, device=real.device)
            real_per_cloud.index_add_(0, batch, real.long())
            self.cloud_has_real = real_per_cloud > 0

    def max_pool(self, h: torch.Tensor) -> torch.Tensor:
        """Take the channel-wise max over each cloud's real points; 0 for clouds without any."""
        if self.dense:
            pooled = h.masked_fill(~self.real.unsqueeze(-1), float("-inf")).amax(dim=1)
            return pooled.masked_fill(~self.cloud_has_real.unsqueeze(-1), 0.0)
        return global_max_pool(h[self.real], self.batch[self.real], size=self.num_clouds)

    def broadcast(self, cloud_features: torch.Tensor) -> torch.Tensor:
        """Give every point the feature vector of its cloud."""
        if self.dense:
            return cloud_features.unsqueeze(1).expand(-1, self.real.shape[1], -1)
        return cloud_features[self.batch]

    def transform(self, h: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
        """Multiply each point's row vector by its cloud's matrix (``h_i A_b``)."""
        if self.dense:
            return torch.bmm(h, matrices)
        # NOTE: the flat path goes through a dense copy padded to the largest
        # cloud, so it needs ``batch`` sorted (PyG batches are) and costs
        # num_clouds * max_points * k memory.
        dense, slots = to_dense_batch(h, self.batch, batch_size=self.num_clouds, max_num_nodes=self.max_points)
        return torch.bmm(dense, matrices)[slots]


class _PointMLP(nn.Module):
    """Stack of ``Linear -> norm -> ReLU -> dropout`` blocks applied to the last dimension.

    Normalisation statistics come from the rows where the mask passed to
    :meth:`forward` is true (batch norm) or from each row alone (layer norm).
    PyG's ``MLP`` is not used because its batch norm would include padding.
    """

    def __init__(self, in_channels: int, channels: Sequence[int], norm: NormKind, dropout: float = 0.0) -> None:
        super().__init__()
        self.linears = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.dropout = dropout
        self.norm = norm
        for out_channels in channels:
            # A bias before batch norm would be cancelled by its mean subtraction.
            self.linears.append(nn.Linear(in_channels, out_channels, bias=norm != "batch"))
            if norm == "batch":
                self.norms.append(MaskedBatchNorm(out_channels))
            elif norm == "layer":
                self.norms.append(nn.LayerNorm(out_channels))
            else:
                self.norms.append(nn.Identity())
            in_channels = out_channels
        self.out_channels = in_channels

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for linear, norm in zip(self.linears, self.norms):
            h = linear(h)
            h = norm(h, mask) if isinstance(norm, MaskedBatchNorm) else norm(h)
            h = F.relu(h)
            h = F.dropout(h, p=self.dropout, training=self.training)
        return h


class TNet(nn.Module):
    """Predict one ``k x k`` transform per cloud from its real points (PointNet's T-Net).

    A shared per-point MLP, a max pool per cloud over real points, and an MLP
    over the pooled vectors regress ``A - I``. The last layer starts at zero,
    so an untrained T-Net returns the identity. With ``norm="batch"`` the
    layers after the pool use layer norm instead, because batch statistics
    over clouds would fail in training on a batch of one cloud.

    Args:
        in_channels: Width of the point features it reads.
        k: Size of the predicted matrices.
        point_channels: Widths of the per-point MLP.
        cloud_channels: Widths of the MLP after the pool.
        norm: Normalisation, ``"batch"``, ``"layer"`` or ``"none"``.

    Shapes:
        - input: point features ``[N, in_channels]`` or ``[B, P, in_channels]``
        - output: ``[num_clouds, k, k]``
    """

    def __init__(
        self,
        in_channels: int,
        k: int,
        point_channels: Sequence[int] = (64, 128, 256),
        cloud_channels: Sequence[int] = (128, 64),
        norm: NormKind = "batch",
    ) -> None:
        super().__init__()
        self.k = k
        self.point_mlp = _PointMLP(in_channels, point_channels, norm)
        cloud_norm: NormKind = "layer" if norm == "batch" else norm
        self.cloud_mlp = _PointMLP(self.point_mlp.out_channels, cloud_channels, cloud_norm)
        self.regressor = nn.Linear(self.cloud_mlp.out_channels, k * k)
        nn.init.zeros_(self.regressor.weight)
        nn.init.zeros_(self.regressor.bias)
        self.register_buffer("identity", torch.eye(k), persistent=False)

    def forward(self, h: torch.Tensor, layout: _CloudLayout) -> torch.Tensor:
        features = self.point_mlp(h, layout.real)
        pooled = layout.max_pool(features)
        pooled = self.cloud_mlp(pooled, layout.cloud_has_real)
        offsets = self.regressor(pooled).view(-1, self.k, self.k)
        return offsets + self.identity.to(offsets.dtype)


@register_model("pointnet")
class PointNetSegmentation(nn.Module):
    """PointNet segmentation giving one logit per point.

    Layers, in order:

    * :class:`PointFeatureEncoder`.
    * An optional input T-Net. Its ``3 x 3`` transform multiplies the encoded
      x, y, z columns (in m).
    * The local MLP, then an optional feature T-Net whose transform
      multiplies the local features.
    * The global MLP and a max pool per cloud over real points.
    * The head MLP, with dropout, over ``[local feature, global feature]``.
    * A linear layer to one logit.

    Two code paths compute the same function. The sparse path keeps points
    flat and pools with the batch vector. The dense path reshapes to
    ``[num_clouds, max_points, C]`` and pools with a mask. With
    ``path="auto"`` the dense path is taken when every cloud has the same
    number of points (``data.ptr`` evenly spaced), which is how padded
    datasets arrive. This check reads the cloud sizes on the host. Real
    points are those with ``data.category != -1``.

    Regularisation: every forward pass stores the T-Nets' orthogonality
    penalty (:func:`orthogonality_penalty`, summed over the enabled T-Nets)
    in :attr:`orthogonality_loss`. The training loss adds
    :meth:`regularization_loss`, which scales it by
    ``regularization_weight`` and is 0 without T-Nets.

    Args:
        feature_names: Names of the columns of ``data.x``.
        local_channels: Widths of the per-point MLP before the feature
            transform; its last width is the local feature passed to the head.
        global_channels: Widths of the per-point MLP before the pool.
        head_channels: Widths of the per-point head before the logit layer.
        input_transform: Whether to predict and apply the ``3 x 3``
            coordinate transform.
        feature_transform: Whether to predict and apply the transform of the
            local features.
        tnet_point_channels: Widths of each T-Net's per-point MLP.
        tnet_cloud_channels: Widths of each T-Net's MLP after the pool.
        regularization_weight: Factor of the orthogonality penalty in
            :meth:`regularization_loss` (0.001 in the PointNet paper).
        dropout: Dropout probability after each head layer.
        norm: ``"batch"`` (masked batch norm over real points), ``"layer"``
            (per point) or ``"none"``.
        path: ``"auto"``, ``"dense"`` or ``"sparse"``.

    Attributes:
        orthogonality_loss: Unweighted penalty of the last forward pass, a
            scalar tensor that carries gradients in training.

    Shapes:
        - input: a ``Data`` or ``Batch`` with ``x`` ``[N, F]``,
          ``category`` ``[N]`` and, for batches, ``batch`` ``[N]``
        - output: ``[N]`` logits
    """

    def __init__(
        self,
        feature_names: Sequence[str],
        local_channels: Sequence[int] = (64, 64),
        global_channels: Sequence[int] = (64, 128, 512),
        head_channels: Sequence[int] = (256, 128),
        input_transform: bool = True,
        feature_transform: bool = True,
        tnet_point_channels: Sequence[int] = (64, 128, 256),
        tnet_cloud_channels: Sequence[int] = (128, 64),
        regularization_weight: float = 1e-3,
        dropout: float = 0.3,
        norm: NormKind = "batch",
        path: PathKind = "auto",
    ) -> None:
        super().__init__()
        _check_options(
            norm=norm,
            path=path,
            dropout=dropout,
            regularization_weight=regularization_weight,
            widths={
                "local_channels": local_channels,
                "global_channels": global_channels,
                "head_channels": head_channels,
                "tnet_point_channels": tnet_point_channels,
                "tnet_cloud_channels": tnet_cloud_channels,
            },
        )
        self.path = path
        self.regularization_weight = float(regularization_weight)
        self.encoder = PointFeatureEncoder(feature_names)
        in_channels = self.encoder.out_channels

        self.input_tnet: TNet | None = None
        if input_transform:
            missing = [name for name in _COORDINATE_COLUMNS if name not in self.encoder.output_names]
            if missing:
                raise ValueError(f"input_transform needs the feature columns {missing}; got {self.encoder.feature_names}")
            columns = [self.encoder.output_names.index(name) for name in _COORDINATE_COLUMNS]
            self.register_buffer("coordinate_columns", torch.tensor(columns), persistent=False)
            self.input_tnet = TNet(in_channels, 3, tnet_point_channels, tnet_cloud_channels, norm)

        self.local_mlp = _PointMLP(in_channels, local_channels, norm)
        local_width = self.local_mlp.out_channels
        self.feature_tnet: TNet | None = None
        if feature_transform:
            self.feature_tnet = TNet(local_width, local_width, tnet_point_channels, tnet_cloud_channels, norm)

        self.global_mlp = _PointMLP(local_width, global_channels, norm)
        self.head = _PointMLP(local_width + self.global_mlp.out_channels, head_channels, norm, dropout)
        self.classifier = nn.Linear(self.head.out_channels, 1)
        self.orthogonality_loss = torch.zeros(())

    def __getstate__(self) -> dict:
        # deepcopy and pickle reject tensors that are part of an autograd graph.
        state = super().__getstate__()
        state["orthogonality_loss"] = self.orthogonality_loss.detach()
        return state

    def regularization_loss(self) -> torch.Tensor:
        """Return ``regularization_weight`` times the orthogonality penalty of the last forward pass."""
        return self.regularization_weight * self.orthogonality_loss

    def forward(self, data: Data) -> torch.Tensor:
        """Compute one logit per point of ``data``; see the class docstring."""
        category = data.category
        real = category != Category.PADDING
        x = self.encoder(data.x).masked_fill(~real.unsqueeze(1), 0.0)
        batch, sizes = _cloud_index(data)
        num_clouds = sizes.numel()
        if num_clouds == 0:
            self.orthogonality_loss = x.sum() * 0.0
            return x.new_zeros(0)

        # One host sync reads the cloud sizes; both paths need the largest.
        size_list = sizes.tolist()
        max_points = max(size_list)
        use_dense = self.path == "dense" or (self.path == "auto" and min(size_list) == max_points)

        if not use_dense:
            layout = _CloudLayout(real, num_clouds, batch, max_points)
            return self._forward_layout(x, layout)

        if min(size_list) == max_points:
            dense_x = x.view(num_clouds, max_points, -1)
            dense_real = real.view(num_clouds, max_points)
            slots = None
        else:
            dense_x, slots = to_dense_batch(x, batch, batch_size=num_clouds, max_num_nodes=max_points)
            dense_real = torch.zeros_like(slots)
            dense_real[slots] = real
        layout = _CloudLayout(dense_real, num_clouds, None, max_points)
        logits = self._forward_layout(dense_x, layout)
        return logits.reshape(-1) if slots is None else logits[slots]

    def _forward_layout(self, h: torch.Tensor, layout: _CloudLayout) -> torch.Tensor:
        penalty = h.new_zeros(())
        if self.input_tnet is not None:
            matrices = self.input_tnet(h, layout)
            coordinates = layout.transform(h[..., self.coordinate_columns], matrices)
            h = h.index_copy(-1, self.coordinate_columns, coordinates)
            penalty = penalty + orthogonality_penalty(matrices, layout.cloud_has_real)

        local = self.local_mlp(h, layout.real)
        if self.feature_tnet is not None:
            matrices = self.feature_tnet(local, layout)
            local = layout.transform(local, matrices)
            penalty = penalty + orthogonality_penalty(matrices, layout.cloud_has_real)
        self.orthogonality_loss = penalty

        global_features = layout.max_pool(self.global_mlp(local, layout.real))
        h = torch.cat([local, layout.broadcast(global_features)], dim=-1)
        h = self.head(h, layout.real)
        return self.classifier(h).squeeze(-1)


def _cloud_index(data: Data) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the batch vector ``[N]`` and the number of points of each cloud ``[B]``."""
    num_points = data.x.shape[0]
    batch = getattr(data, "batch", None)
    if batch is None:
        batch = torch.zeros(num_points, dtype=torch.long, device=data.x.device)
        sizes = torch.tensor([num_points] if num_points else [], dtype=torch.long, device=data.x.device)
        return batch, sizes
    ptr = getattr(data, "ptr", None)
    if ptr is not None:
        return batch, ptr.diff()
    num_clouds = int(batch.max()) + 1 if num_points else 0
    return batch, torch.bincount(batch, minlength=num_clouds)


def _check_options(
    norm: str,
    path: str,
    dropout: float,
    regularization_weight: float,
    widths: dict[str, Sequence[int]],
) -> None:
    if norm not in _NORM_KINDS:
        raise ValueError(f"invalid norm {norm!r}; expected one of {_NORM_KINDS}")
    if path not in _PATH_KINDS:
        raise ValueError(f"invalid path {path!r}; expected one of {_PATH_KINDS}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"invalid dropout {dropout!r}; expected a probability in [0, 1)")
    if regularization_weight < 0.0:
        raise ValueError(f"invalid regularization_weight {regularization_weight!r}; expected a value >= 0")
    for name, channels in widths.items():
        if len(channels) == 0 or any(int(width) < 1 for width in channels):
            raise ValueError(f"invalid {name} {tuple(channels)!r}; expected one or more positive widths")
