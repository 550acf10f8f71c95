"""Tests of the PointNet segmentation model and its masked building blocks."""

from __future__ import annotations

import copy

import pytest
import torch
from torch_geometric.data import Batch, Data

from pflow_geo.datasets.fields import BASE_FEATURES, Category
from pflow_geo.models import build_model
from pflow_geo.models.pointnet import MaskedBatchNorm, PointNetSegmentation, orthogonality_penalty

SMALL = {
    "local_channels": (16, 16),
    "global_channels": (16, 32),
    "head_channels": (16,),
    "tnet_point_channels": (16, 32),
    "tnet_cloud_channels": (16,),
    "dropout": 0.0,
}
NORMS = ("batch", "layer", "none")


def make_cloud(num_points: int, seed: int) -> Data:
    generator = torch.Generator().manual_seed(seed)
    category = torch.randint(0, 3, (num_points,), generator=generator)
    x = torch.empty(num_points, len(BASE_FEATURES))
    x[:, :3] = torch.randn(num_points, 3, generator=generator) * 500.0 + 1500.0
    x[:, 3] = category.float()
    x[:, 4] = torch.rand(num_points, generator=generator) * 7.0
    x[:, 5] = torch.rand(num_points, generator=generator) * 300.0
    return Data(x=x, pos=x[:, :3].clone(), category=category)


def pad_cloud(cloud: Data, num_points: int) -> Data:
    """Append padding points whose features are NaN, as garbage that must never leak."""
    num_padding = num_points - cloud.num_nodes
    x_padding = torch.full((num_padding, cloud.x.shape[1]), float("nan"))
    x_padding[:, 3] = float(Category.PADDING)
    category_padding = torch.full((num_padding,), int(Category.PADDING))
    return Data(
        x=torch.cat([cloud.x, x_padding]),
        pos=torch.cat([cloud.pos, x_padding[:, :3]]),
        category=torch.cat([cloud.category, category_padding]),
    )


def make_model(norm: str = "batch", seed: int = 0, **overrides) -> PointNetSegmentation:
    torch.manual_seed(seed)
    model = PointNetSegmentation(BASE_FEATURES, norm=norm, **{**SMALL, **overrides})
    randomize_tnets(model)
    return model


def randomize_tnets(model: PointNetSegmentation) -> None:
    # The regressors start at zero (identity transforms); random values make
    # the tests exercise the transforms themselves.
    for tnet in (model.input_tnet, model.feature_tnet):
        if tnet is not None:
            torch.nn.init.normal_(tnet.regressor.weight, std=0.1)
            torch.nn.init.normal_(tnet.regressor.bias, std=0.1)


def real_logits(model: PointNetSegmentation, batch: Batch) -> torch.Tensor:
    return model(batch)[batch.category != Category.PADDING]


@pytest.fixture()
def clouds() -> list[Data]:
    return [make_cloud(5, seed=1), make_cloud(3, seed=2), make_cloud(8, seed=3), make_cloud(2, seed=4)]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("norm", NORMS)
def test_dense_matches_sparse_on_padded_batch(clouds, norm, train):
    model = make_model(norm)
    model.train(train)
    padded = Batch.from_data_list([pad_cloud(cloud, 10) for cloud in clouds])

    model.path = "dense"
    dense = model(padded)
    dense_penalty = model.orthogonality_loss
    model.path = "sparse"
    sparse = model(padded)
    sparse_penalty = model.orthogonality_loss

    real = padded.category != Category.PADDING
    assert dense.shape == (40,)
    torch.testing.assert_close(dense[real], sparse[real], rtol=1e-5, atol=1e-5)
    # Padding logits are defined the same way on both paths.
    torch.testing.assert_close(dense[~real], sparse[~real], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(dense_penalty, sparse_penalty, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("train", [True, False])
def test_dense_matches_sparse_on_mixed_sizes(clouds, train):
    model = make_model("batch")
    model.train(train)
    batch = Batch.from_data_list(clouds)

    model.path = "dense"
    dense = model(batch)
    model.path = "sparse"
    sparse = model(batch)

    torch.testing.assert_close(dense, sparse, rtol=1e-5, atol=1e-5)


def test_auto_path_takes_dense_for_equal_sizes(clouds, monkeypatch):
    model = make_model("batch")
    calls = []
    original = PointNetSegmentation._forward_layout

    def record(self, h, layout):
        calls.append(layout.dense)
        return original(self, h, layout)

    monkeypatch.setattr(PointNetSegmentation, "_forward_layout", record)
    model(Batch.from_data_list([pad_cloud(cloud, 10) for cloud in clouds]))
    model(Batch.from_data_list(clouds))

    assert calls == [True, False]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("norm", NORMS)
def test_padding_keeps_real_logits(clouds, norm, train):
    model = make_model(norm)
    model.train(train)
    unpadded = Batch.from_data_list(clouds)
    padded = Batch.from_data_list([pad_cloud(cloud, 12) for cloud in clouds])

    expected = model(unpadded)
    actual = real_logits(model, padded)

    assert torch.isfinite(actual).all()
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_padding_keeps_gradients(clouds):
    unpadded = Batch.from_data_list(clouds)
    padded = Batch.from_data_list([pad_cloud(cloud, 12) for cloud in clouds])
    gradients = []
    for batch in (unpadded, padded):
        model = make_model("batch")
        logits = real_logits(model, batch)
        loss = logits.square().mean() + model.regularization_loss()
        loss.backward()
        gradients.append({name: p.grad.clone() for name, p in model.named_parameters()})

    for name, expected in gradients[0].items():
        assert torch.isfinite(gradients[1][name]).all(), name
        torch.testing.assert_close(gradients[1][name], expected, rtol=1e-4, atol=1e-6, msg=name)


def test_padding_only_cloud_leaves_others_unchanged(clouds):
    model = make_model("batch")
    empty = pad_cloud(make_cloud(0, seed=0), 10)
    padded = Batch.from_data_list([pad_cloud(cloud, 10) for cloud in clouds])
    with_empty = Batch.from_data_list([*padded.to_data_list(), empty])

    expected = real_logits(model, padded)
    expected_penalty = model.orthogonality_loss
    actual = real_logits(model, with_empty)

    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.orthogonality_loss, expected_penalty, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("train", [True, False])
def test_permutation_equivariance(clouds, train):
    model = make_model("batch")
    model.train(train)
    generator = torch.Generator().manual_seed(7)
    permutations = [torch.randperm(cloud.num_nodes, generator=generator) for cloud in clouds]
    permuted_clouds = [
        Data(x=cloud.x[order], pos=cloud.pos[order], category=cloud.category[order])
        for cloud, order in zip(clouds, permutations)
    ]

    logits = model(Batch.from_data_list(clouds)).split([cloud.num_nodes for cloud in clouds])
    permuted_logits = model(Batch.from_data_list(permuted_clouds)).split([cloud.num_nodes for cloud in clouds])

    for original, permuted, order in zip(logits, permuted_logits, permutations):
        torch.testing.assert_close(permuted, original[order], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm", NORMS)
def test_single_point_cloud_eval(norm):
    model = make_model(norm).eval()
    cloud = make_cloud(1, seed=5)

    alone = model(cloud)
    in_batch = model(Batch.from_data_list([cloud]))

    assert alone.shape == (1,)
    assert torch.isfinite(alone).all()
    torch.testing.assert_close(alone, in_batch)


def test_single_point_cloud_train_layer_norm():
    model = make_model("layer").train()

    logits = model(make_cloud(1, seed=5))
    logits.sum().backward()

    assert logits.shape == (1,)
    assert torch.isfinite(model.classifier.weight.grad).all()


def test_single_cloud_trains_with_batch_norm():
    model = make_model("batch").train()

    logits = model(make_cloud(6, seed=5))
    logits.sum().backward()

    assert logits.shape == (6,)
    assert torch.isfinite(model.feature_tnet.regressor.weight.grad).all()


def test_single_point_batch_norm_train_raises():
    model = make_model("batch").train()

    with pytest.raises(ValueError, match="at least 2 real entries, got 1"):
        model(make_cloud(1, seed=5))


def test_only_padding_batch_trains_without_error():
    model = make_model("batch").train()
    batch = Batch.from_data_list([pad_cloud(make_cloud(0, seed=0), 4), pad_cloud(make_cloud(0, seed=1), 4)])
    running_mean = model.local_mlp.norms[0].running_mean.clone()

    logits = model(batch)

    assert logits.shape == (8,)
    assert torch.isfinite(logits).all()
    assert model.local_mlp.norms[0].num_batches_tracked.item() == 0
    torch.testing.assert_close(model.local_mlp.norms[0].running_mean, running_mean)


def test_mixed_sizes_match_clouds_alone(clouds):
    model = make_model("batch").eval()
    clouds = [*clouds, make_cloud(1, seed=6)]

    batched = model(Batch.from_data_list(clouds)).split([cloud.num_nodes for cloud in clouds])

    for cloud, logits in zip(clouds, batched):
        torch.testing.assert_close(logits, model(cloud), rtol=1e-5, atol=1e-5)


def test_forward_backward_reaches_every_parameter(clouds):
    model = make_model("batch", dropout=0.2)
    batch = Batch.from_data_list([pad_cloud(cloud, 10) for cloud in clouds])

    logits = model(batch)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[batch.category == Category.CELL], torch.ones(int((batch.category == Category.CELL).sum()))
    )
    (loss + model.regularization_loss()).backward()

    assert logits.shape == (batch.num_nodes,)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
    assert model.classifier.weight.grad.abs().sum() > 0


def test_running_statistics_ignore_padding(clouds):
    unpadded_model = make_model("batch")
    padded_model = make_model("batch")

    unpadded_model(Batch.from_data_list(clouds))
    padded_model(Batch.from_data_list([pad_cloud(cloud, 12) for cloud in clouds]))

    for name, buffer in unpadded_model.named_buffers():
        torch.testing.assert_close(dict(padded_model.named_buffers())[name], buffer, rtol=1e-5, atol=1e-6, msg=name)


def test_without_tnets_has_zero_regularization(clouds):
    model = make_model("layer", input_transform=False, feature_transform=False)

    model(Batch.from_data_list(clouds))

    assert model.input_tnet is None
    assert model.feature_tnet is None
    assert model.regularization_loss().item() == 0.0


def test_orthogonality_penalty_hand_values():
    stretch = torch.tensor([[[2.0, 0.0], [0.0, 1.0]]])  # I - A A^T = diag(-3, 0)
    rotation = torch.tensor([[[0.6, -0.8], [0.8, 0.6]]])
    shear = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # residual entries -1, -1, -1

    assert orthogonality_penalty(stretch).item() == 9.0
    assert orthogonality_penalty(rotation).item() == pytest.approx(0.0, abs=1e-12)
    assert orthogonality_penalty(shear.unsqueeze(0)).item() == 3.0
    assert orthogonality_penalty(torch.cat([stretch, rotation])).item() == pytest.approx(4.5)
    assert orthogonality_penalty(torch.cat([stretch, rotation]), torch.tensor([True, False])).item() == 9.0
    assert orthogonality_penalty(stretch, torch.tensor([False])).item() == 0.0


def test_regularization_loss_from_tnet_matrices(clouds):
    model = PointNetSegmentation(BASE_FEATURES, **SMALL, regularization_weight=0.5)
    with torch.no_grad():
        # The regressor weights are zero, so every cloud gets I + bias:
        # diag(2, 1, 1) for the coordinates (penalty 9) and 2 I for the
        # 16 local features (penalty 16 * 9).
        model.input_tnet.regressor.bias.copy_(torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 0, 0]))
        model.feature_tnet.regressor.bias.copy_(torch.eye(16).flatten())

    model(Batch.from_data_list(clouds))

    assert model.orthogonality_loss.item() == pytest.approx(9.0 + 16 * 9.0)
    assert model.regularization_loss().item() == pytest.approx(0.5 * (9.0 + 16 * 9.0))


def test_input_transform_multiplies_coordinates():
    model = make_model("none", input_transform=True, feature_transform=False).eval()
    cloud = make_cloud(4, seed=8)
    rotation = torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 degrees about z
    rotated = cloud.clone()
    rotated.x[:, :3] = cloud.x[:, :3] @ rotation
    regressor = model.input_tnet.regressor
    with torch.no_grad():
        regressor.weight.zero_()
        regressor.bias.zero_()

    # With zero regressor weights the T-Net returns I + bias for every cloud.
    identity_logits = model(cloud)
    expected = model(rotated)
    with torch.no_grad():
        regressor.bias.copy_((rotation - torch.eye(3)).flatten())
    actual = model(cloud)

    assert not torch.allclose(actual, identity_logits)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_masked_batch_norm_hand_values():
    norm = MaskedBatchNorm(1, eps=0.0)
    x = torch.tensor([[1.0], [3.0], [float("nan")], [100.0]])
    mask = torch.tensor([True, True, False, False])

    out = norm(x, mask)

    # Real entries 1 and 3: mean 2, biased variance 1, unbiased variance 2.
    assert out[0].item() == -1.0
    assert out[1].item() == 1.0
    assert out[3].item() == 98.0
    assert norm.running_mean.item() == pytest.approx(0.1 * 2.0)
    assert norm.running_var.item() == pytest.approx(0.9 * 1.0 + 0.1 * 2.0)
    assert norm.num_batches_tracked.item() == 1


def test_masked_batch_norm_eval_uses_running_statistics():
    norm = MaskedBatchNorm(1, eps=0.0)
    norm.running_mean.fill_(1.0)
    norm.running_var.fill_(4.0)
    norm.eval()

    out = norm(torch.tensor([[5.0], [-1.0]]), torch.tensor([True, False]))

    assert out.flatten().tolist() == [2.0, -1.0]


def test_masked_batch_norm_matches_torch_batch_norm():
    torch.manual_seed(3)
    x = torch.randn(20, 4)
    masked = MaskedBatchNorm(4)
    reference = torch.nn.BatchNorm1d(4)

    torch.testing.assert_close(masked(x, torch.ones(20, dtype=torch.bool)), reference(x))
    torch.testing.assert_close(masked.running_var, reference.running_var)
    torch.testing.assert_close(masked.running_mean, reference.running_mean)


def test_registry_builds_pointnet():
    model = build_model("pointnet", BASE_FEATURES, **SMALL, norm="layer")

    assert isinstance(model, PointNetSegmentation)
    assert model(make_cloud(3, seed=9)).shape == (3,)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("norm", "group", "invalid norm 'group'"),
        ("path", "grid", "invalid path 'grid'"),
        ("dropout", 1.0, "invalid dropout 1.0"),
        ("head_channels", (), "invalid head_channels"),
        ("regularization_weight", -1.0, "invalid regularization_weight"),
    ],
)
def test_invalid_options_raise(option, value, message):
    with pytest.raises(ValueError, match=message):
        PointNetSegmentation(BASE_FEATURES, **{**SMALL, option: value})


def test_deepcopy_after_training_forward(clouds):
    model = make_model("batch")
    model(Batch.from_data_list(clouds))

    copied = copy.deepcopy(model)

    assert copied.orthogonality_loss.grad_fn is None
    torch.testing.assert_close(copied.orthogonality_loss, model.orthogonality_loss.detach())
