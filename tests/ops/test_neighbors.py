"""Neighbour search and sampling: both backends against brute-force references."""

from __future__ import annotations

import math

import pytest
import torch

from pflow_geo.ops import neighbors
from pflow_geo.ops.neighbors import (
    TORCH_CLUSTER_AVAILABLE,
    farthest_from_centroid,
    fps,
    knn,
    knn_graph,
    knn_interpolate,
    radius,
    radius_graph,
    use_backend,
)

needs_torch_cluster = pytest.mark.skipif(
    not TORCH_CLUSTER_AVAILABLE, reason="torch-cluster is not importable (install the 'accel' extra)"
)
BACKENDS = ["torch", pytest.param("torch_cluster", marks=needs_torch_cluster)]

# Cloud sizes with an empty cloud and a one-point cloud in the middle of the batch.
CLOUD_SIZES = (5, 0, 40, 1, 90)


def make_batch(sizes=CLOUD_SIZES, dim=3, seed=0, offset=2000.0, scale=500.0):
    generator = torch.Generator().manual_seed(seed)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes, dtype=torch.long))
    points = torch.rand(batch.numel(), dim, generator=generator) * scale + offset
    return points, batch


def reference_neighbors(x, y, batch_x, batch_y, k, r=None, exclude_self=False):
    """Return the expected (y index, x index) pairs as a set, from float64 distances."""
    distance = torch.cdist(y.double(), x.double(), compute_mode="donot_use_mm_for_euclid_dist")
    distance[batch_y[:, None] != batch_x[None, :]] = math.inf
    if exclude_self:
        distance.fill_diagonal_(math.inf)
    if r is not None:
        distance[distance >= r] = math.inf
    pairs = set()
    for row in range(y.size(0)):
        order = torch.argsort(distance[row])[:k]
        pairs.update((row, int(col)) for col in order if math.isfinite(distance[row, col]))
    return pairs


def as_pairs(edges):
    return set(zip(edges[0].tolist(), edges[1].tolist()))


def assert_sorted_by_row_then_distance(row, col, x, y):
    distance = (x[col].double() - y[row].double()).norm(dim=-1)
    assert bool((row[1:] >= row[:-1]).all())
    same_row = row[1:] == row[:-1]
    assert bool((distance[1:][same_row] >= distance[:-1][same_row] - 1e-6).all())


def reference_fps(x, batch, ratio, starts):
    """Farthest point sampling cloud by cloud in float64."""
    selected = []
    for cloud, start in enumerate(starts):
        members = (batch == cloud).nonzero().view(-1)
        if members.numel() == 0:
            continue
        points = x[members].double()
        local = [int(start) - int(members[0])]
        nearest = (points - points[local[0]]).pow(2).sum(-1)
        for _ in range(math.ceil(members.numel() * ratio) - 1):
            local.append(int(nearest.argmax()))
            nearest = torch.minimum(nearest, (points - points[local[-1]]).pow(2).sum(-1))
        selected.extend(int(members[i]) for i in local)
    return selected


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 4, 50])
def test_knn_matches_brute_force(backend, k):
    x, batch_x = make_batch(seed=1)
    y, batch_y = make_batch(sizes=(3, 4, 0, 2, 20), seed=2)
    edges = knn(x, y, k, batch_x, batch_y, backend=backend)
    assert as_pairs(edges) == reference_neighbors(x, y, batch_x, batch_y, k)
    assert_sorted_by_row_then_distance(edges[0], edges[1], x, y)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loop", [False, True])
def test_knn_graph_matches_brute_force(backend, loop):
    x, batch = make_batch(seed=3)
    edge_index = knn_graph(x, 6, batch, loop=loop, backend=backend)
    neighbor, center = edge_index
    assert as_pairs(torch.stack([center, neighbor])) == reference_neighbors(
        x, x, batch, batch, 6, exclude_self=not loop
    )
    assert bool((batch[neighbor] == batch[center]).all())
    assert_sorted_by_row_then_distance(center, neighbor, x, x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_knn_graph_target_to_source_flips_rows(backend):
    x, batch = make_batch(seed=4)
    source_to_target = knn_graph(x, 3, batch, backend=backend)
    target_to_source = knn_graph(x, 3, batch, flow="target_to_source", backend=backend)
    assert torch.equal(source_to_target.flip(0), target_to_source)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("max_num_neighbors", [3, 200])
def test_radius_matches_brute_force(backend, max_num_neighbors):
    x, batch_x = make_batch(seed=5)
    y, batch_y = make_batch(sizes=(2, 3, 10, 0, 30), seed=6)
    edges = radius(x, y, 150.0, batch_x, batch_y, max_num_neighbors, backend=backend)
    expected = reference_neighbors(x, y, batch_x, batch_y, max_num_neighbors, r=150.0)
    assert as_pairs(edges) == expected
    assert len(expected) > 0
    assert_sorted_by_row_then_distance(edges[0], edges[1], x, y)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loop", [False, True])
def test_radius_graph_matches_brute_force(backend, loop):
    x, batch = make_batch(seed=7)
    neighbor, center = radius_graph(x, 200.0, batch, loop=loop, max_num_neighbors=5, backend=backend)
    expected = reference_neighbors(x, x, batch, batch, 5, r=200.0, exclude_self=not loop)
    assert as_pairs(torch.stack([center, neighbor])) == expected


def test_search_in_chunks_matches_one_block(monkeypatch):
    x, batch = make_batch(dim=5, seed=8)
    expected = knn(x, x, 7, batch, batch, backend="torch")
    monkeypatch.setattr(neighbors, "CHUNK_ELEMENTS", 16)
    assert torch.equal(knn(x, x, 7, batch, batch, backend="torch"), expected)
    assert as_pairs(radius(x, x, 300.0, batch, batch, 4, backend="torch")) == reference_neighbors(
        x, x, batch, batch, 4, r=300.0
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_search_on_empty_and_one_point_clouds(backend):
    empty = torch.empty(0, 3)
    one = torch.tensor([[1.0, 2.0, 3.0]])
    assert knn(empty, one, 3, backend=backend).shape == (2, 0)
    assert knn(one, empty, 3, backend=backend).shape == (2, 0)
    assert knn_graph(empty, 3, backend=backend).shape == (2, 0)
    assert knn_graph(one, 3, backend=backend).shape == (2, 0)
    assert knn_graph(one, 3, loop=True, backend=backend).tolist() == [[0], [0]]
    assert radius_graph(one, 1.0, loop=True, backend=backend).tolist() == [[0], [0]]
    assert radius_graph(one, 1.0, backend=backend).shape == (2, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_query_cloud_without_points_gets_no_edges(backend):
    x = torch.rand(4, 3)
    batch_x = torch.tensor([0, 0, 0, 0])
    y = torch.rand(3, 3)
    batch_y = torch.tensor([0, 1, 1])
    edges = knn(x, y, 2, batch_x, batch_y, backend=backend)
    assert edges[0].tolist() == [0, 0]


def test_unsorted_batch_raises():
    x = torch.rand(3, 3)
    with pytest.raises(ValueError, match="must be sorted"):
        knn_graph(x, 2, torch.tensor([1, 0, 1]), backend="torch")


def test_batch_size_smaller_than_batch_raises():
    x = torch.rand(3, 3)
    with pytest.raises(ValueError, match="batch_size is 1"):
        knn_graph(x, 2, torch.tensor([0, 1, 1]), batch_size=1, backend="torch")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ratio", [0.25, 0.5, 1.0])
def test_fps_matches_reference(backend, ratio):
    x, batch = make_batch(seed=9)
    first = [int((batch == cloud).nonzero()[0]) if (batch == cloud).any() else -1 for cloud in range(len(CLOUD_SIZES))]
    sampled = fps(x, batch, ratio, random_start=False, backend=backend)
    assert sampled.tolist() == reference_fps(x, batch, ratio, first)
    assert torch.bincount(batch[sampled], minlength=len(CLOUD_SIZES)).tolist() == [
        math.ceil(size * ratio) for size in CLOUD_SIZES
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_fps_starts_at_given_point(backend):
    x, batch = make_batch(seed=10)
    start = farthest_from_centroid(x, batch)
    sampled = fps(x, batch, 0.5, start_index=start, backend=backend)
    assert sampled.tolist() == reference_fps(x, batch, 0.5, start.tolist())


@pytest.mark.parametrize("backend", BACKENDS)
def test_fps_with_canonical_start_ignores_point_order(backend):
    x, batch = make_batch(sizes=(30, 70), seed=11)
    permutation = torch.cat([torch.randperm(30), 30 + torch.randperm(70)])
    sampled = fps(x, batch, 0.3, start_index=farthest_from_centroid(x, batch), backend=backend)
    x_permuted = x[permutation]
    sampled_permuted = fps(
        x_permuted, batch, 0.3, start_index=farthest_from_centroid(x_permuted, batch), backend=backend
    )
    assert permutation[sampled_permuted].tolist() == sampled.tolist()


@pytest.mark.parametrize("backend", BACKENDS)
def test_fps_random_start_follows_torch_seed(backend):
    x, batch = make_batch(seed=12)
    torch.manual_seed(3)
    first = fps(x, batch, 0.5, backend=backend)
    torch.manual_seed(3)
    second = fps(x, batch, 0.5, backend=backend)
    assert torch.equal(first, second)
    assert torch.equal(batch[first], torch.sort(batch[first]).values)


def test_fps_on_empty_and_one_point_clouds():
    assert fps(torch.empty(0, 3), backend="torch").numel() == 0
    assert fps(torch.rand(1, 3), ratio=0.1, backend="torch").tolist() == [0]


def test_fps_rejects_bad_ratio_and_start():
    x, batch = make_batch(sizes=(3, 4))
    with pytest.raises(ValueError, match="ratio"):
        fps(x, batch, ratio=0.0)
    with pytest.raises(ValueError, match="start_index 1 of cloud 1 is not a point of that cloud"):
        fps(x, batch, start_index=torch.tensor([0, 1]))


def test_farthest_from_centroid_matches_reference():
    x, batch = make_batch(seed=13)
    chosen = farthest_from_centroid(x, batch)
    for cloud, index in enumerate(chosen.tolist()):
        members = (batch == cloud).nonzero().view(-1)
        if members.numel() == 0:
            assert index == -1
            continue
        points = x[members].double()
        expected = members[(points - points.mean(0)).norm(dim=-1).argmax()]
        assert index == int(expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_knn_interpolate_matches_reference(backend):
    pos_x, batch_x = make_batch(sizes=(6, 0, 12), seed=14)
    pos_y, batch_y = make_batch(sizes=(4, 3, 5), seed=15)
    features = torch.randn(pos_x.size(0), 2, dtype=torch.float64)
    result = knn_interpolate(features, pos_x, pos_y, batch_x, batch_y, k=3, backend=backend)

    for row in range(pos_y.size(0)):
        members = (batch_x == batch_y[row]).nonzero().view(-1)
        if members.numel() == 0:
            assert result[row].tolist() == [0.0, 0.0]
            continue
        squared = (pos_x[members].double() - pos_y[row].double()).pow(2).sum(-1)
        nearest = torch.argsort(squared)[:3]
        weight = 1.0 / squared[nearest]
        expected = (features[members[nearest]] * weight[:, None]).sum(0) / weight.sum()
        torch.testing.assert_close(result[row], expected, rtol=1e-5, atol=1e-7)


def test_knn_interpolate_onto_own_points_returns_features():
    pos, batch = make_batch(sizes=(5, 8), seed=16)
    features = torch.randn(pos.size(0), 4, requires_grad=True)
    result = knn_interpolate(features, pos, pos, batch, batch, backend="torch")
    torch.testing.assert_close(result, features)
    result.sum().backward()
    assert features.grad is not None and bool(torch.isfinite(features.grad).all())


def test_use_backend_restores_default():
    with use_backend("torch"):
        assert neighbors._default_backend == "torch"
    assert neighbors._default_backend == "auto"


def test_unknown_backend_raises():
    with pytest.raises(ValueError, match="unknown neighbour-search backend"):
        knn_graph(torch.rand(3, 3), 2, backend="faiss")


def test_torch_cluster_backend_without_torch_cluster_raises(monkeypatch):
    # Pretend torch-cluster is missing, so the check also runs where it is installed.
    monkeypatch.setattr(neighbors, "TORCH_CLUSTER_AVAILABLE", False)
    with pytest.raises(ImportError, match="torch-cluster is not importable"):
        knn_graph(torch.rand(3, 3), 2, backend="torch_cluster")


def test_auto_backend_without_torch_cluster_uses_torch(monkeypatch):
    x, batch = make_batch(sizes=(30, 12), seed=41)
    expected = as_pairs(knn_graph(x, 4, batch, backend="torch"))

    def fail(*args, **kwargs):
        raise AssertionError("torch-cluster was called although it is marked missing")

    monkeypatch.setattr(neighbors, "TORCH_CLUSTER_AVAILABLE", False)
    monkeypatch.setattr(neighbors, "search_torch_cluster", fail)
    assert as_pairs(knn_graph(x, 4, batch)) == expected


@needs_torch_cluster
def test_pure_knn_matches_torch_cluster_knn():
    import torch_cluster

    x, batch_x = make_batch(sizes=(50, 80, 3), seed=17)
    y, batch_y = make_batch(sizes=(20, 10, 5), seed=18)
    ours = knn(x, y, 8, batch_x, batch_y, backend="torch")
    theirs = torch_cluster.knn(x, y, 8, batch_x, batch_y)
    assert as_pairs(ours) == as_pairs(theirs)


@needs_torch_cluster
def test_pure_radius_matches_torch_cluster_radius_without_truncation():
    import torch_cluster

    x, batch_x = make_batch(sizes=(50, 80, 3), seed=19)
    y, batch_y = make_batch(sizes=(20, 10, 5), seed=20)
    ours = radius(x, y, 150.0, batch_x, batch_y, max_num_neighbors=1000, backend="torch")
    theirs = torch_cluster.radius(x, y, 150.0, batch_x, batch_y, max_num_neighbors=1000)
    assert as_pairs(ours) == as_pairs(theirs)


@needs_torch_cluster
def test_pure_fps_matches_torch_cluster_fps():
    import torch_cluster

    x, batch = make_batch(sizes=(50, 80, 3, 1), seed=21)
    ours = fps(x, batch, 0.3, random_start=False, backend="torch")
    theirs = torch_cluster.fps(x, batch, 0.3, False)
    assert ours.tolist() == theirs.tolist()


@needs_torch_cluster
def test_backends_give_same_neighbors():
    x, batch = make_batch(dim=8, seed=22)
    for search in (
        lambda backend: knn_graph(x, 5, batch, backend=backend),
        lambda backend: knn(x, x[:30], 5, batch, batch[:30], backend=backend),
        lambda backend: radius_graph(x, 600.0, batch, max_num_neighbors=4, backend=backend),
    ):
        assert as_pairs(search("torch")) == as_pairs(search("torch_cluster"))
