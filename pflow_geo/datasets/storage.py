"""Column storage of many clouds, and its conversion to PyG ``Data`` objects and ``InMemoryDataset`` slices.

Clouds are kept as flat per-point columns with offsets ``ptr`` plus
per-cloud columns, the layout ``InMemoryDataset`` uses internally. Building
the dataset from columns avoids collating a list of ``Data`` objects, which
needs about twice the dataset's memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Data

__all__ = ["Columns", "columns_to_data_list", "data_list_to_columns", "concat_columns", "to_inmemory"]

# Compact on-disk types widened on load to what PyTorch code expects.
_WIDEN = {torch.int8: torch.int64, torch.int16: torch.int64, torch.int32: torch.int64}


@dataclass
class Columns:
    """Flat storage of many clouds.

    Attributes:
        points: Per-point tensors; cloud ``i`` owns rows ``ptr[i]:ptr[i + 1]``.
        clouds: Per-cloud tensors with one row per cloud.
        ptr: int64 offsets ``[num_clouds + 1]``.
    """

    points: dict[str, torch.Tensor]
    clouds: dict[str, torch.Tensor]
    ptr: torch.Tensor

    @property
    def num_clouds(self) -> int:
        return len(self.ptr) - 1

    @property
    def sizes(self) -> torch.Tensor:
        """Number of points of each cloud, int64 ``[num_clouds]``."""
        return self.ptr[1:] - self.ptr[:-1]

    def select(self, mask: torch.Tensor) -> Columns:
        """Return the clouds where ``mask`` (bool ``[num_clouds]``) is true, in order."""
        sizes = self.sizes
        point_mask = torch.repeat_interleave(mask, sizes)
        ptr = torch.zeros(int(mask.sum()) + 1, dtype=torch.int64)
        ptr[1:] = torch.cumsum(sizes[mask], 0)
        return Columns(
            {name: values[point_mask] for name, values in self.points.items()},
            {name: values[mask] for name, values in self.clouds.items()},
            ptr,
        )

    def widened(self) -> Columns:
        """Return a copy whose compact integer columns are int64."""
        def widen(values: torch.Tensor) -> torch.Tensor:
            return values.to(_WIDEN[values.dtype]) if values.dtype in _WIDEN else values

        return Columns({k: widen(v) for k, v in self.points.items()}, {k: widen(v) for k, v in self.clouds.items()}, self.ptr)


def concat_columns(parts: Sequence[Columns]) -> Columns:
    """Concatenate clouds stored in several :class:`Columns`, in order."""
    if not parts:
        raise ValueError("concat_columns needs at least one part")
    offsets = torch.tensor([0] + [int(p.ptr[-1]) for p in parts]).cumsum(0)
    ptr = torch.cat([parts[0].ptr[:1]] + [p.ptr[1:] + offsets[i] for i, p in enumerate(parts)])
    points = {name: torch.cat([p.points[name] for p in parts]) for name in parts[0].points}
    clouds = {name: torch.cat([p.clouds[name] for p in parts]) for name in parts[0].clouds}
    return Columns(points, clouds, ptr)


def columns_to_data_list(points: dict, clouds: dict, ptr) -> list[Data]:
    """Split columns (numpy arrays or tensors) into one ``Data`` object per cloud.

    Per-cloud values become tensors of shape ``[1]`` so that batching
    concatenates them into ``[num_clouds]``.
    """
    points = {name: torch.as_tensor(values) for name, values in points.items()}
    clouds = {name: torch.as_tensor(values) for name, values in clouds.items()}
    ptr = torch.as_tensor(ptr).tolist()
    data_list = []
    for i in range(len(ptr) - 1):
        start, stop = ptr[i], ptr[i + 1]
        values = {name: column[start:stop] for name, column in points.items()}
        values.update({name: column[i : i + 1] for name, column in clouds.items()})
        data_list.append(Data(**values))
    return data_list


def data_list_to_columns(data_list: Sequence[Data], point_template: dict, cloud_template: dict) -> tuple[dict, dict, np.ndarray]:
    """Pack ``Data`` objects back into numpy columns with the keys and dtypes of the templates."""
    sizes = [data.num_nodes for data in data_list]
    ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)

    def stack(name: str, template: np.ndarray, per_cloud: bool) -> np.ndarray:
        if not data_list:
            return template[:0]
        values = [np.asarray(getattr(data, name)) for data in data_list]
        return np.concatenate(values).astype(template.dtype) if not per_cloud else np.concatenate([v.reshape(-1)[:1] for v in values]).astype(template.dtype)

    points = {name: stack(name, np.asarray(template), False) for name, template in point_template.items()}
    clouds = {name: stack(name, np.asarray(template), True) for name, template in cloud_template.items()}
    return points, clouds, ptr


def to_inmemory(columns: Columns) -> tuple[Data, dict[str, torch.Tensor]]:
    """Return the ``(data, slices)`` pair that ``InMemoryDataset`` stores for these clouds."""
    num_clouds = columns.num_clouds
    cloud_slices = torch.arange(num_clouds + 1, dtype=torch.int64)
    data = Data(**columns.points, **columns.clouds)
    slices = {name: columns.ptr for name in columns.points}
    slices.update({name: cloud_slices for name in columns.clouds})
    return data, slices
