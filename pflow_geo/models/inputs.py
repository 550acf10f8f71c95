"""Shared input encoding: turns the raw feature columns of ``data.x`` into network inputs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..datasets.fields import Category

__all__ = ["PointFeatureEncoder"]

_NUM_SAMPLINGS = 24
_LENGTH_COLUMNS = ("x", "y", "z", "distance")  # mm
_ANGLE_COLUMNS = ("delta_eta", "delta_phi")
_REAL_CATEGORIES = (Category.FOCUS_TRACK, Category.CELL, Category.OTHER_TRACK)


class PointFeatureEncoder(nn.Module):
    """Scale and expand the columns of ``data.x`` into a fixed-width input vector.

    Lengths (x, y, z, distance) go from mm to m; ``category`` becomes a
    one-hot over the three real categories (all zeros for padding); ``layer``
    becomes a one-hot over the 24 ATLAS samplings; ``delta_eta`` and
    ``delta_phi`` are multiplied by 10 so that the 0.2 cone spans about 2;
    ``significance`` becomes ``sign(s) * ln(1 + |s|)``; other columns,
    including the already rescaled ``energy``, pass through unchanged.
    Padding points (``category`` column -1) encode to all zeros, so that NaN
    or arbitrary values in padding rows cannot reach the network or its
    gradients.

    Args:
        feature_names: Names of the columns of ``data.x``, in order.

    Attributes:
        out_channels: Width of the encoded vector.
        output_names: Name of each output column: the passed-through input
            names, then ``category_focus_track``, ``category_cell``,
            ``category_other_track``, then ``layer_0`` to ``layer_23`` when
            ``layer`` is an input column.

    Shapes:
        - input: ``[num_points, len(feature_names)]``
        - output: ``[num_points, out_channels]``
    """

    def __init__(self, feature_names: Sequence[str]) -> None:
        super().__init__()
        self.feature_names = tuple(feature_names)
        if "category" not in self.feature_names:
            raise ValueError(f"feature_names must contain 'category', got {self.feature_names}")
        self._category = self.feature_names.index("category")
        self._layer = self.feature_names.index("layer") if "layer" in self.feature_names else None
        scale = torch.ones(len(self.feature_names))
        for column, name in enumerate(self.feature_names):
            if name in _LENGTH_COLUMNS:
                scale[column] = 1e-3
            elif name in _ANGLE_COLUMNS:
                scale[column] = 10.0
        self.register_buffer("scale", scale, persistent=False)
        self._significance = self.feature_names.index("significance") if "significance" in self.feature_names else None
        self._plain = [c for c in range(len(self.feature_names)) if c not in (self._category, self._layer)]
        self.out_channels = len(self._plain) + 3 + (_NUM_SAMPLINGS if self._layer is not None else 0)

        names = [self.feature_names[c] for c in self._plain]
        names += [f"category_{category.name.lower()}" for category in _REAL_CATEGORIES]
        if self._layer is not None:
            names += [f"layer_{sampling}" for sampling in range(_NUM_SAMPLINGS)]
        self.output_names: tuple[str, ...] = tuple(names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scaled = x * self.scale
        if self._significance is not None:
            s = scaled[:, self._significance]
            scaled = scaled.clone()
            scaled[:, self._significance] = torch.sign(s) * torch.log1p(s.abs())
        parts = [scaled[:, self._plain]]

        category = x[:, self._category].round().long()
        real = category != Category.PADDING
        one_hot = torch.zeros(x.shape[0], 3, dtype=x.dtype, device=x.device)
        one_hot[real, category[real].clamp(0, 2)] = 1.0
        parts.append(one_hot)

        if self._layer is not None:
            layer = x[:, self._layer].round().long()
            valid = (layer >= 0) & (layer < _NUM_SAMPLINGS) & real
            layer_hot = torch.zeros(x.shape[0], _NUM_SAMPLINGS, dtype=x.dtype, device=x.device)
            layer_hot[valid, layer[valid]] = 1.0
            parts.append(layer_hot)
        encoded = torch.cat(parts, dim=1)
        return encoded.masked_fill(~real.unsqueeze(1), 0.0)
