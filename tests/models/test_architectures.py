"""Contract tests run on every registered segmentation model.

Each model must give one finite logit per point, train on clouds of any size
down to one point, keep clouds of a batch apart, give per-point outputs that
follow a permutation of the points, and ignore padding points.
"""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data

from pflow_geo.datasets.fields import BASE_FEATURES, Category
from pflow_geo.models import available_models, build_model
from pflow_geo.ops import TORCH_CLUSTER_AVAILABLE, use_backend

MODEL_NAMES = available_models()
FEATURE_NAMES = BASE_FEATURES
CATEGORY_COLUMN = FEATURE_NAMES.index("category")
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def make_cloud(num_points: int, seed: int, feature_names=FEATURE_NAMES) -> Data:
    """Build a cloud around a point 1.5 m from the beam line, coordinates in mm."""
    generator = torch.Generator().manual_seed(seed)
    pos = torch.randn(num_points, 3, generator=generator) * 150.0 + torch.tensor([1500.0, 200.0, -300.0])
    category = torch.randint(0, 3, (num_points,), generator=generator)
    category[:1] = Category.FOCUS_TRACK
    columns = {
        "x": pos[:, 0],
        "y": pos[:, 1],
        "z": pos[:, 2],
        "category": category.float(),
        "energy": torch.rand(num_points, generator=generator) * 6.0,
        "distance": torch.rand(num_points, generator=generator) * 400.0,
        "layer": torch.randint(0, 24, (num_points,), generator=generator).float(),
        "delta_eta": (torch.rand(num_points, generator=generator) - 0.5) * 0.4,
        "delta_phi": (torch.rand(num_points, generator=generator) - 0.5) * 0.4,
        "significance": torch.randn(num_points, generator=generator) * 10.0,
    }
    x = torch.stack([columns[name] for name in feature_names], dim=1)
    return Data(x=x, pos=pos, category=category)


def insert_padding(cloud: Data, num_padding: int, seed: int) -> Data:
    """Insert padding points with arbitrary values, NaN included, at random places among the real points.

    The real points keep their order.
    """
    generator = torch.Generator().manual_seed(seed)
    padding_x = torch.randn(num_padding, cloud.x.size(1), generator=generator) * 1000.0
    padding_x[:, CATEGORY_COLUMN] = float(Category.PADDING)
    padding_x[::2, FEATURE_NAMES.index("energy")] = float("nan")
    padding_pos = torch.randn(num_padding, 3, generator=generator) * 1000.0
    padding_pos[1::3] = float("nan")
    num_points = cloud.num_nodes + num_padding
    is_padding = torch.zeros(num_points, dtype=torch.bool)
    is_padding[torch.randperm(num_points, generator=generator)[:num_padding]] = True

    x = torch.empty(num_points, cloud.x.size(1))
    x[~is_padding], x[is_padding] = cloud.x, padding_x
    pos = torch.empty(num_points, 3)
    pos[~is_padding], pos[is_padding] = cloud.pos, padding_pos
    category = torch.full((num_points,), int(Category.PADDING))
    category[~is_padding] = cloud.category
    return Data(x=x, pos=pos, category=category)


def real_point_logits(logits: torch.Tensor, data: Data) -> torch.Tensor:
    return logits[data.category != Category.PADDING]


@pytest.fixture(params=MODEL_NAMES)
def model_name(request):
    return request.param


@pytest.fixture
def model(model_name):
    torch.manual_seed(0)
    return build_model(model_name, FEATURE_NAMES)


def test_registry_contains_architectures():
    assert {"pointnet2", "dgcnn", "point_transformer", "graph_transformer"} <= set(MODEL_NAMES)


def test_forward_and_backward_on_tiny_clouds(model):
    batch = Batch.from_data_list([make_cloud(5, seed=1), make_cloud(8, seed=2)])
    model.train()
    logits = model(batch)
    assert logits.shape == (13,)
    assert bool(torch.isfinite(logits).all())

    target = torch.rand(13)
    torch.nn.functional.binary_cross_entropy_with_logits(logits, target).backward()
    gradients = [p.grad for p in model.parameters() if p.grad is not None]
    assert gradients
    assert all(bool(torch.isfinite(g).all()) for g in gradients)
    assert sum(float(g.abs().sum()) for g in gradients) > 0.0


def test_one_point_cloud(model):
    model.eval()
    with torch.no_grad():
        logits = model(make_cloud(1, seed=3))
    assert logits.shape == (1,)
    assert bool(torch.isfinite(logits).all())


def test_training_on_one_point_clouds(model):
    # Two clouds, so that models with batch normalisation see two entries.
    batch = Batch.from_data_list([make_cloud(1, seed=3), make_cloud(1, seed=4)])
    model.train()
    logits = model(batch)
    assert logits.shape == (2,)
    logits.sum().backward()
    assert all(bool(torch.isfinite(p.grad).all()) for p in model.parameters() if p.grad is not None)


def test_batch_of_mixed_sizes_matches_single_clouds(model):
    clouds = [make_cloud(size, seed=10 + size) for size in (1, 7, 40, 2)]
    model.eval()
    with torch.no_grad():
        batched = model(Batch.from_data_list(clouds))
        single = torch.cat([model(cloud) for cloud in clouds])
    assert batched.shape == (50,)
    torch.testing.assert_close(batched, single, **TOLERANCE)


def test_permuted_points_give_permuted_logits(model):
    cloud = make_cloud(60, seed=4)
    permutation = torch.randperm(60, generator=torch.Generator().manual_seed(5))
    permuted = Data(x=cloud.x[permutation], pos=cloud.pos[permutation], category=cloud.category[permutation])
    model.eval()
    with torch.no_grad():
        logits = model(cloud)
        permuted_logits = model(permuted)
    torch.testing.assert_close(permuted_logits, logits[permutation], **TOLERANCE)


def test_padding_does_not_change_real_logits(model):
    cloud = make_cloud(30, seed=6)
    padded = insert_padding(cloud, 20, seed=7)
    model.eval()
    with torch.no_grad():
        logits = model(cloud)
        padded_logits = model(padded)
    assert padded_logits.shape == (50,)
    assert bool(torch.isfinite(padded_logits).all())
    torch.testing.assert_close(real_point_logits(padded_logits, padded), logits, **TOLERANCE)


def test_padded_batch_matches_unpadded_batch(model):
    clouds = [make_cloud(size, seed=20 + size) for size in (3, 25, 1)]
    padded = [insert_padding(cloud, 32 - cloud.num_nodes, seed=30 + i) for i, cloud in enumerate(clouds)]
    # A cloud made only of padding must not disturb its neighbours in the batch.
    padded.insert(1, insert_padding(make_cloud(0, seed=40), 32, seed=41))
    model.eval()
    with torch.no_grad():
        logits = model(Batch.from_data_list(clouds))
        padded_batch = Batch.from_data_list(padded)
        padded_logits = model(padded_batch)
    assert padded_logits.shape == (128,)
    assert bool(torch.isfinite(padded_logits).all())
    torch.testing.assert_close(real_point_logits(padded_logits, padded_batch), logits, **TOLERANCE)


def test_batch_of_only_padding(model):
    batch = Batch.from_data_list([insert_padding(make_cloud(0, seed=42), 6, seed=43)])
    model.eval()
    with torch.no_grad():
        logits = model(batch)
    assert logits.shape == (6,)
    assert bool(torch.isfinite(logits).all())


def test_optional_feature_columns(model_name):
    feature_names = (*BASE_FEATURES, "layer", "delta_eta", "delta_phi", "significance")
    torch.manual_seed(0)
    model = build_model(model_name, feature_names).eval()
    with torch.no_grad():
        logits = model(Batch.from_data_list([make_cloud(12, seed=8, feature_names=feature_names)]))
    assert logits.shape == (12,)
    assert bool(torch.isfinite(logits).all())


@pytest.mark.skipif(not TORCH_CLUSTER_AVAILABLE, reason="torch-cluster is not importable (install the 'accel' extra)")
def test_backends_give_same_logits(model):
    batch = Batch.from_data_list([make_cloud(size, seed=50 + size) for size in (4, 45)])
    model.eval()
    with torch.no_grad():
        with use_backend("torch"):
            pure = model(batch)
        with use_backend("torch_cluster"):
            with_torch_cluster = model(batch)
    torch.testing.assert_close(with_torch_cluster, pure, **TOLERANCE)


@pytest.mark.slow
def test_cloud_of_a_few_thousand_points(model):
    cloud = make_cloud(3000, seed=9)
    model.eval()
    with torch.no_grad():
        logits = model(cloud)
    assert logits.shape == (3000,)
    assert bool(torch.isfinite(logits).all())
