"""Batch-aware neighbour search and sampling on point clouds.

The functions follow the signatures of ``torch_cluster`` and PyG
(``knn(x, y, k, batch_x, batch_y)``, ``knn_graph``, ``radius``,
``radius_graph``, ``fps``, ``knn_interpolate``). A ``batch`` vector assigns
each point to its cloud and must be sorted, as in a PyG ``Batch``. Points of
different clouds are never paired, and clouds may be empty.

Two backends compute the same neighbours (ties aside):

* ``"torch_cluster"``: the compiled kernels of torch-cluster, used when it is
  installed (``pip install pflow_geo[accel]``).
* ``"torch"``: pure PyTorch. Distances are computed block by block on a dense
  ``[clouds, rows, points]`` layout, so that one block contains at most
  :data:`CHUNK_ELEMENTS` distances whatever the cloud sizes. The cost is
  quadratic in the cloud size, where torch-cluster's CPU kernels use a k-d tree.

``backend="auto"`` (the default) picks torch-cluster when it is importable,
except for searches of more than 100 neighbours on CUDA, which its kNN kernel
rejects. :func:`set_default_backend` and :func:`use_backend` change the
default, and every function also takes a ``backend`` argument.

Both backends share these conventions, which can differ from torch-cluster's
own functions:

* Edges come sorted by the query point (``y``), then by increasing distance.
* :func:`radius` keeps the ``max_num_neighbors`` *nearest* points within the
  radius, so the result does not depend on the order of the points.
  torch-cluster's ``radius`` keeps the first ones found instead.
* :func:`fps` draws its random start with the torch random generator, so
  ``torch.manual_seed`` makes it reproducible, and it accepts an explicit
  start point per cloud.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from ._dense import dense_neighbors, farthest_point_sampling
from ._torch_cluster import TORCH_CLUSTER_AVAILABLE, fps_torch_cluster, search_torch_cluster


__all__ = [
    "BACKENDS",
    "TORCH_CLUSTER_AVAILABLE",
    "CHUNK_ELEMENTS",
    "set_default_backend",
    "use_backend",
    "knn",
    "knn_graph",
    "radius",
    "radius_graph",
    "fps",
    "farthest_from_centroid",
    "knn_interpolate",
]

BACKENDS = ("auto", "torch_cluster", "torch")

# Upper bound on the number of distances (or gathered feature values) in one
# block of the pure-PyTorch search. 2**22 float32 values take 16 MiB.
CHUNK_ELEMENTS = 1 << 22

# torch-cluster's CUDA kNN kernel keeps its candidates in a fixed array of 100
# and rejects a larger k (csrc/cuda/knn_cuda.cu, torch-cluster 1.6).
_TORCH_CLUSTER_CUDA_MAX_K = 100

_default_backend = "auto"


def set_default_backend(name: str) -> None:
    """Set the backend used when a function gets ``backend=None``.

    Args:
        name: One of :data:`BACKENDS`.

    Raises:
        ValueError: If ``name`` is not a known backend.
        ImportError: If ``name`` is ``"torch_cluster"`` and torch-cluster is not importable.
    """
    global _default_backend
    _check_backend_name(name)
    _default_backend = name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Use backend ``name`` as the default inside a ``with`` block.

    The default is module state, so threads that run neighbour searches at the
    same time see each other's choice.
    """
    previous = _default_backend
    set_default_backend(name)
    try:
        yield
    finally:
        set_default_backend(previous)


def knn(
    x: Tensor,
    y: Tensor,
    k: int,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
    *,
    batch_size: int | None = None,
    backend: str | None = None,
) -> Tensor:
    """Find for each point of ``y`` its ``k`` nearest points of ``x`` in the same cloud.

    A query point whose cloud contains fewer than ``k`` points of ``x`` gets
    all of them, and one whose cloud contains none gets no edge.

    Args:
        x: Points searched, in any number of dimensions (positions or features).
        y: Query points, with the same number of columns as ``x``.
        k: Number of neighbours, at least 1.
        batch_x: Sorted cloud index of each row of ``x``; all zeros when ``None``.
        batch_y: Sorted cloud index of each row of ``y``; all zeros when ``None``.
        batch_size: Number of clouds; inferred from the batch vectors when ``None``.
        backend: ``"auto"``, ``"torch_cluster"`` or ``"torch"``; the module
            default (see :func:`set_default_backend`) when ``None``.

    Returns:
        ``[2, num_edges]`` int64: row 0 indexes ``y``, row 1 indexes ``x``,
        sorted by ``y`` index and then by increasing distance.

    Shapes:
        - x: ``[N, F]``, y: ``[M, F]``, batch_x: ``[N]``, batch_y: ``[M]``
        - output: ``[2, E]`` with ``E <= M * k``
    """
    _check_positive("k", k)
    row, col = _search(x, y, batch_x, batch_y, batch_size, k, None, exclude_self=False, backend=backend)
    return torch.stack([row, col])


def knn_graph(
    x: Tensor,
    k: int,
    batch: Tensor | None = None,
    loop: bool = False,
    flow: str = "source_to_target",
    *,
    batch_size: int | None = None,
    backend: str | None = None,
) -> Tensor:
    """Build the graph that joins each point to its ``k`` nearest points in the same cloud.

    Args:
        x: Points, in any number of dimensions.
        k: Number of neighbours of each point, at least 1.
        batch: Sorted cloud index of each point; all zeros when ``None``.
        loop: Whether a point counts as its own neighbour (then it is one of the ``k``).
        flow: ``"source_to_target"`` puts the neighbour in row 0 and the centre
            point in row 1, as PyG's message passing expects;
            ``"target_to_source"`` swaps the rows.
        batch_size: Number of clouds; inferred from ``batch`` when ``None``.
        backend: See :func:`knn`.

    Returns:
        ``edge_index`` ``[2, num_edges]`` int64, sorted by centre point and
        then by increasing distance.

    Shapes:
        - x: ``[N, F]``, batch: ``[N]``
        - output: ``[2, E]`` with ``E <= N * k``
    """
    _check_positive("k", k)
    _check_flow(flow)
    center, neighbor = _search(x, x, batch, batch, batch_size, k, None, exclude_self=not loop, backend=backend)
    return _orient(center, neighbor, flow)


def radius(
    x: Tensor,
    y: Tensor,
    r: float,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
    max_num_neighbors: int = 32,
    *,
    batch_size: int | None = None,
    backend: str | None = None,
) -> Tensor:
    """Find for each point of ``y`` the points of ``x`` in the same cloud closer than ``r``.

    When more than ``max_num_neighbors`` points are in range, the nearest ones
    are kept (torch-cluster's own ``radius`` keeps the first ones it finds).

    Args:
        x: Points searched, in any number of dimensions.
        y: Query points, with the same number of columns as ``x``.
        r: Radius, in the units of ``x``; a pair at distance exactly ``r`` is not an edge.
        batch_x: Sorted cloud index of each row of ``x``; all zeros when ``None``.
        batch_y: Sorted cloud index of each row of ``y``; all zeros when ``None``.
        max_num_neighbors: Maximum number of neighbours of one query point, at least 1.
        batch_size: Number of clouds; inferred from the batch vectors when ``None``.
        backend: See :func:`knn`.

    Returns:
        ``[2, num_edges]`` int64: row 0 indexes ``y``, row 1 indexes ``x``,
        sorted by ``y`` index and then by increasing distance.

    Shapes:
        - x: ``[N, F]``, y: ``[M, F]``, batch_x: ``[N]``, batch_y: ``[M]``
        - output: ``[2, E]`` with ``E <= M * max_num_neighbors``
    """
    _check_positive("max_num_neighbors", max_num_neighbors)
    _check_radius(r)
    row, col = _search(x, y, batch_x, batch_y, batch_size, max_num_neighbors, r, exclude_self=False, backend=backend)
    return torch.stack([row, col])


def radius_graph(
    x: Tensor,
    r: float,
    batch: Tensor | None = None,
    loop: bool = False,
    max_num_neighbors: int = 32,
    flow: str = "source_to_target",
    *,
    batch_size: int | None = None,
    backend: str | None = None,
) -> Tensor:
    """Build the graph that joins each point to the points of its cloud closer than ``r``.

    Args:
        x: Points, in any number of dimensions.
        r: Radius, in the units of ``x``.
        batch: Sorted cloud index of each point; all zeros when ``None``.
        loop: Whether a point counts as its own neighbour.
        max_num_neighbors: Maximum number of neighbours of one point; the
            nearest ones are kept.
        flow: See :func:`knn_graph`.
        batch_size: Number of clouds; inferred from ``batch`` when ``None``.
        backend: See :func:`knn`.

    Returns:
        ``edge_index`` ``[2, num_edges]`` int64, sorted by centre point and
        then by increasing distance.

    Shapes:
        - x: ``[N, F]``, batch: ``[N]``
        - output: ``[2, E]`` with ``E <= N * max_num_neighbors``
    """
    _check_positive("max_num_neighbors", max_num_neighbors)
    _check_radius(r)
    _check_flow(flow)
    center, neighbor = _search(
        x, x, batch, batch, batch_size, max_num_neighbors, r, exclude_self=not loop, backend=backend
    )
    return _orient(center, neighbor, flow)


def fps(
    x: Tensor,
    batch: Tensor | None = None,
    ratio: float = 0.5,
    random_start: bool = True,
    *,
    batch_size: int | None = None,
    start_index: Tensor | None = None,
    backend: str | None = None,
) -> Tensor:
    r"""Sample points of each cloud by farthest point sampling.

    From the `PointNet++ <https://arxiv.org/abs/1706.02413>`_ paper: after the
    start point, each step takes the point with the largest distance to the
    points already taken,

    .. math::
        s_{t+1} = \operatorname*{arg\,max}_i \min_{u \le t} \lVert x_i - x_{s_u} \rVert.

    A cloud of ``n`` points gives ``ceil(n * ratio)`` samples (computed in
    float32 like torch-cluster), so every non-empty cloud gives at least one.

    Args:
        x: Points, in any number of dimensions.
        batch: Sorted cloud index of each point; all zeros when ``None``.
        ratio: Fraction of the points of each cloud to sample, in ``(0, 1]``.
        random_start: Start each cloud at a random point (from the torch random
            generator); when ``False``, at its first point. Ignored when
            ``start_index`` is given.
        batch_size: Number of clouds; inferred from ``batch`` when ``None``.
        start_index: Index into ``x`` of the start point of each cloud; entries
            of empty clouds are ignored. With a start that does not depend on
            the order of the points (for example
            :func:`farthest_from_centroid`), the sampled set does not depend on
            it either, ties aside.
        backend: See :func:`knn`.

    Returns:
        Indices into ``x`` of the sampled points, grouped by cloud in cloud
        order, each group in sampling order.

    Raises:
        ValueError: If ``ratio`` is outside ``(0, 1]`` or a start point lies outside its cloud.

    Shapes:
        - x: ``[N, F]``, batch: ``[N]``, start_index: ``[batch_size]``
        - output: ``[S]`` with ``S = sum(ceil(n_b * ratio))``
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    x = x.view(-1, 1) if x.dim() == 1 else x
    batch, batch_size = _batch_vector(batch, x.size(0), batch_size, x.device, "batch")
    counts = torch.bincount(batch, minlength=batch_size)
    if x.size(0) == 0:
        return torch.empty(0, dtype=torch.long, device=x.device)

    first = torch.cumsum(counts, 0) - counts
    if start_index is not None:
        start_local = start_index.to(device=x.device, dtype=torch.long).view(-1) - first
        if start_local.numel() != batch_size:
            raise ValueError(f"start_index must contain one index per cloud ({batch_size}), got {start_local.numel()}")
        outside = ((start_local < 0) | (start_local >= counts)) & (counts > 0)
        if bool(outside.any()):
            cloud = int(outside.nonzero()[0])
            raise ValueError(
                f"start_index {int(start_index.view(-1)[cloud])} of cloud {cloud} is not a point of that cloud "
                f"(points {int(first[cloud])} to {int(first[cloud] + counts[cloud]) - 1})"
            )
        start_local = torch.where(counts > 0, start_local, torch.zeros_like(start_local))
    elif random_start:
        start_local = (torch.rand(batch_size, device=x.device) * counts).long().clamp_max((counts - 1).clamp_min(0))
    else:
        start_local = torch.zeros_like(counts)

    # Same rounding as torch-cluster: the count times the ratio in (at least) float32, then ceil.
    ratio_tensor = torch.tensor(ratio, dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)
    num_samples = torch.ceil(counts.to(ratio_tensor.dtype) * ratio_tensor).long().minimum(counts)

    with torch.no_grad():
        if _resolve_backend(backend, x.device, 1) == "torch_cluster":
            return fps_torch_cluster(x.detach(), batch, counts, first, start_local, ratio)
        return farthest_point_sampling(x.detach(), counts, first, start_local, num_samples)


def farthest_from_centroid(pos: Tensor, batch: Tensor | None = None, batch_size: int | None = None) -> Tensor:
    """Find in each cloud the point farthest from the cloud's centroid.

    The choice does not depend on the order of the points (except between points
    at the same distance, where the lowest index wins), which makes it a
    canonical start for :func:`fps`.

    Args:
        pos: Points.
        batch: Sorted cloud index of each point; all zeros when ``None``.
        batch_size: Number of clouds; inferred from ``batch`` when ``None``.

    Returns:
        Index into ``pos`` of the chosen point of each cloud, -1 for empty clouds.

    Shapes:
        - pos: ``[N, F]``, batch: ``[N]``
        - output: ``[batch_size]``
    """
    batch, batch_size = _batch_vector(batch, pos.size(0), batch_size, pos.device, "batch")
    counts = torch.bincount(batch, minlength=batch_size)
    pos = pos.detach()
    centroid = scatter(pos, batch, dim=0, dim_size=batch_size, reduce="mean")
    squared_distance = (pos - centroid[batch]).pow(2).sum(-1)
    largest = scatter(squared_distance, batch, dim=0, dim_size=batch_size, reduce="max")
    index = torch.arange(pos.size(0), device=pos.device)
    candidates = torch.where(squared_distance == largest[batch], index, torch.full_like(index, pos.size(0)))
    chosen = scatter(candidates, batch, dim=0, dim_size=batch_size, reduce="min")
    return torch.where(counts > 0, chosen, torch.full_like(chosen, -1))


def knn_interpolate(
    x: Tensor,
    pos_x: Tensor,
    pos_y: Tensor,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
    k: int = 3,
    *,
    batch_size: int | None = None,
    backend: str | None = None,
) -> Tensor:
    r"""Interpolate features from points ``pos_x`` to points ``pos_y`` of the same cloud.

    Inverse-distance weighting over the ``k`` nearest points, as in the feature
    propagation of `PointNet++ <https://arxiv.org/abs/1706.02413>`_:

    .. math::
        f(y) = \frac{\sum_{j \in \mathcal{N}_k(y)} w_j f_j}{\sum_{j \in \mathcal{N}_k(y)} w_j},
        \qquad w_j = \frac{1}{\max(\lVert p_y - p_j \rVert^2, 10^{-16})}.

    Gradients flow to ``x``, not to the positions. A point of ``pos_y`` whose
    cloud has no point in ``pos_x`` gets zeros.

    Args:
        x: Features of the points ``pos_x``.
        pos_x: Positions that carry the features.
        pos_y: Positions to interpolate at.
        batch_x: Sorted cloud index of each row of ``pos_x``; all zeros when ``None``.
        batch_y: Sorted cloud index of each row of ``pos_y``; all zeros when ``None``.
        k: Number of nearest points used, at least 1.
        batch_size: Number of clouds; inferred from the batch vectors when ``None``.
        backend: See :func:`knn`.

    Returns:
        Interpolated features, in the dtype of ``x`` promoted with float32.

    Shapes:
        - x: ``[N, *]``, pos_x: ``[N, D]``, pos_y: ``[M, D]``
        - output: ``[M, *]``
    """
    with torch.no_grad():
        y_index, x_index = knn(pos_x, pos_y, k, batch_x, batch_y, batch_size=batch_size, backend=backend)
        offset = pos_x[x_index].float() - pos_y[y_index].float()
        weight = 1.0 / offset.pow(2).sum(-1).clamp_min(1e-16)
        denominator = weight.new_zeros(pos_y.size(0)).index_add(0, y_index, weight)
        denominator = denominator.clamp_min(torch.finfo(denominator.dtype).tiny)

    trailing = (1,) * (x.dim() - 1)
    weighted = x[x_index] * weight.view(-1, *trailing)
    numerator = weighted.new_zeros(pos_y.size(0), *x.shape[1:]).index_add(0, y_index, weighted)
    return numerator / denominator.view(-1, *trailing)


def _search(
    x: Tensor,
    y: Tensor,
    batch_x: Tensor | None,
    batch_y: Tensor | None,
    batch_size: int | None,
    k: int,
    max_distance: float | None,
    exclude_self: bool,
    backend: str | None,
) -> tuple[Tensor, Tensor]:
    # Returns (index into y, index into x) sorted by y index, then by distance.
    x = x.view(-1, 1) if x.dim() == 1 else x
    y = y.view(-1, 1) if y.dim() == 1 else y
    if x.size(1) != y.size(1):
        raise ValueError(f"x and y must have the same number of columns, got {x.size(1)} and {y.size(1)}")
    if batch_size is None and batch_x is not None and batch_y is not None:
        batch_size = max(_num_clouds(batch_x), _num_clouds(batch_y))
    batch_x, batch_size = _batch_vector(batch_x, x.size(0), batch_size, x.device, "batch_x")
    batch_y, batch_size = _batch_vector(batch_y, y.size(0), batch_size, y.device, "batch_y")

    empty = torch.empty(0, dtype=torch.long, device=x.device)
    if x.size(0) == 0 or y.size(0) == 0:
        return empty, empty

    # The torch-cluster path leaves a point out of its own neighbours by
    # requesting one more neighbour and dropping the pair of the point with itself.
    kernel_k = k + 1 if exclude_self else k
    with torch.no_grad():
        if _resolve_backend(backend, x.device, kernel_k) == "torch_cluster":
            return search_torch_cluster(x.detach(), y.detach(), batch_x, batch_y, batch_size, k, max_distance, exclude_self)
        counts_x = torch.bincount(batch_x, minlength=batch_size)
        counts_y = torch.bincount(batch_y, minlength=batch_size)
        return dense_neighbors(
            x.detach(), y.detach(), counts_x, counts_y, k, max_distance, exclude_self, CHUNK_ELEMENTS
        )


def _resolve_backend(backend: str | None, device: torch.device, k: int) -> str:
    name = _default_backend if backend is None else backend
    _check_backend_name(name)
    cuda_k_too_large = device.type == "cuda" and k > _TORCH_CLUSTER_CUDA_MAX_K
    if name == "auto":
        return "torch_cluster" if TORCH_CLUSTER_AVAILABLE and not cuda_k_too_large else "torch"
    if name == "torch_cluster" and cuda_k_too_large:
        raise ValueError(
            f"torch-cluster's CUDA kNN supports at most {_TORCH_CLUSTER_CUDA_MAX_K} neighbours, got {k}; "
            "use backend='torch' or 'auto'"
        )
    return name


def _check_backend_name(name: str) -> None:
    if name not in BACKENDS:
        raise ValueError(f"unknown neighbour-search backend {name!r}; expected one of {BACKENDS}")
    if name == "torch_cluster" and not TORCH_CLUSTER_AVAILABLE:
        raise ImportError(
            "backend 'torch_cluster' was requested but torch-cluster is not importable; "
            "install it with `pip install --no-build-isolation pflow_geo[accel]` or use backend='torch'"
        )


def _batch_vector(
    batch: Tensor | None, num_points: int, batch_size: int | None, device: torch.device, name: str
) -> tuple[Tensor, int]:
    # Validate a batch vector (or make one of zeros) and settle the number of clouds.
    if batch is None:
        batch = torch.zeros(num_points, dtype=torch.long, device=device)
    else:
        batch = batch.to(device=device, dtype=torch.long).view(-1)
        if batch.numel() != num_points:
            raise ValueError(f"{name} has {batch.numel()} entries for {num_points} points")
        if num_points > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError(f"{name} must be sorted (as in a PyG Batch); sort the points by cloud first")
    num_clouds = _num_clouds(batch)
    if batch_size is None:
        batch_size = max(num_clouds, 1)
    elif num_clouds > batch_size:
        raise ValueError(f"{name} refers to cloud {num_clouds - 1} but batch_size is {batch_size}")
    return batch, batch_size


def _num_clouds(batch: Tensor) -> int:
    return int(batch.max()) + 1 if batch.numel() > 0 else 0


def _orient(center: Tensor, neighbor: Tensor, flow: str) -> Tensor:
    if flow == "source_to_target":
        return torch.stack([neighbor, center])
    return torch.stack([center, neighbor])


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def _check_radius(r: float) -> None:
    if not r > 0:
        raise ValueError(f"the radius r must be positive, got {r}")


def _check_flow(flow: str) -> None:
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
