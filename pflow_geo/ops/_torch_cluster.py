"""Adapters from :mod:`pflow_geo.ops.neighbors` to the torch-cluster kernels.

They give torch-cluster's results the conventions of the pure-PyTorch path:
edges sorted by query point and distance, radius truncation to the nearest
points, and a chosen start point for farthest point sampling. Callers check
that torch-cluster is importable and validate the inputs.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor

logger = logging.getLogger(__name__)

try:
    import torch_cluster
except ImportError as error:
    torch_cluster = None
    if error.name == "torch_cluster":
        logger.debug("torch-cluster is not installed, so neighbour search uses pure PyTorch")
    else:
        # torch-cluster 1.6.3 imports scipy, for example.
        logger.warning("torch-cluster failed to import (%s), so neighbour search uses pure PyTorch", error)
except OSError as error:
    # An installed build that does not match the installed torch fails to load its library.
    torch_cluster = None
    logger.warning("torch-cluster failed to load (%s), so neighbour search uses pure PyTorch", error)

TORCH_CLUSTER_AVAILABLE = torch_cluster is not None


def search_torch_cluster(
    x: Tensor,
    y: Tensor,
    batch_x: Tensor,
    batch_y: Tensor,
    batch_size: int,
    k: int,
    max_distance: float | None,
    exclude_self: bool,
) -> tuple[Tensor, Tensor]:
    """Find neighbours with torch-cluster's kNN kernel, as :func:`pflow_geo.ops._dense.dense_neighbors` does.

    A radius search runs as a kNN search with ``k = max_num_neighbors``
    followed by a distance cut, which keeps the nearest points in range.

    Returns:
        Index into ``y`` and index into ``x`` of each pair, sorted by ``y``
        index and then by increasing distance.
    """
    # Clouds that lack points on either side are dropped and the others
    # renumbered, so that torch-cluster only sees clouds with points on both
    # sides and none of the empty-cloud edge cases of its kernels can arise.
    counts_x = torch.bincount(batch_x, minlength=batch_size)
    counts_y = torch.bincount(batch_y, minlength=batch_size)
    shared = (counts_x > 0) & (counts_y > 0)
    new_id = torch.cumsum(shared.long(), 0) - 1
    x_keep = shared[batch_x].nonzero().view(-1)
    y_keep = shared[batch_y].nonzero().view(-1)
    if x_keep.numel() == 0 or y_keep.numel() == 0:
        empty = torch.empty(0, dtype=torch.long, device=x.device)
        return empty, empty

    kernel_k = k + 1 if exclude_self else k
    assignment = torch_cluster.knn(
        x[x_keep].contiguous(), y[y_keep].contiguous(), kernel_k, new_id[batch_x[x_keep]], new_id[batch_y[y_keep]]
    )
    row = y_keep[assignment[0]]
    col = x_keep[assignment[1]]
    if exclude_self:
        not_self = row != col
        row, col = row[not_self], col[not_self]

    work_dtype = torch.promote_types(x.dtype, torch.float32)
    squared_distance = (x[col].to(work_dtype) - y[row].to(work_dtype)).pow(2).sum(-1)
    if max_distance is not None:
        in_range = squared_distance < float(max_distance) ** 2
        row, col, squared_distance = row[in_range], col[in_range], squared_distance[in_range]
    return _nearest_per_row(row, col, squared_distance, k, y.size(0))


def _nearest_per_row(row: Tensor, col: Tensor, distance: Tensor, k: int, num_rows: int) -> tuple[Tensor, Tensor]:
    # Sort edges by row, then by distance, and keep the k nearest of each row.
    order = torch.argsort(distance, stable=True)
    order = order[torch.argsort(row[order], stable=True)]
    row, col = row[order], col[order]
    counts = torch.bincount(row, minlength=num_rows)
    row_start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(row.numel(), device=row.device) - row_start[row]
    keep = rank < k
    return row[keep], col[keep]


def fps_torch_cluster(x: Tensor, batch: Tensor, counts: Tensor, first: Tensor, start_local: Tensor, ratio: float) -> Tensor:
    """Run torch-cluster's farthest point sampling from the start point ``start_local`` of each cloud.

    Returns:
        Indices into ``x``, grouped by cloud, each group in sampling order.
    """
    # torch-cluster starts each cloud at its first point, so the chosen start
    # is swapped to the front of its cloud, and the result mapped back.
    # Empty clouds are dropped by renumbering, because its CPU kernel writes a
    # first sample even for an empty cloud (csrc/cpu/fps_cpu.cpp, torch-cluster 1.6).
    nonempty = counts > 0
    start = (first + start_local)[nonempty]
    front = first[nonempty]
    permutation = torch.arange(x.size(0), device=x.device)
    permutation[front] = start
    permutation[start] = front
    new_id = torch.cumsum(nonempty.long(), 0) - 1
    sampled = torch_cluster.fps(x[permutation], new_id[batch], ratio, False)
    return permutation[sampled]
