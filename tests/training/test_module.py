"""SegmentationModule on a few clouds: forward, loss terms, repeated clouds, checkpoint-safe hyperparameters."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch

from pflow_geo.datasets import TrackCloudDataset
from pflow_geo.metrics import SegmentationMetrics
from pflow_geo.training import LossConfig, OptimizerConfig, SegmentationModule
from pflow_geo.training.datamodule import REPEAT_FIELD
from pflow_geo.training.module import metric_log_names

from .conftest import FEATURES, TINY_POINTNET


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, sample_file: Path) -> TrackCloudDataset:
    return TrackCloudDataset(tmp_path_factory.mktemp("data"), files=[sample_file], features=FEATURES, log=False)


@pytest.fixture(scope="module")
def clouds(dataset: TrackCloudDataset) -> list:
    return [dataset[index] for index in range(4)]


@pytest.fixture(scope="module")
def feature_names(dataset: TrackCloudDataset) -> tuple[str, ...]:
    return dataset.feature_names


@pytest.fixture
def module(feature_names: tuple[str, ...]) -> SegmentationModule:
    torch.manual_seed(0)
    return SegmentationModule(model_hparams=TINY_POINTNET, feature_names=feature_names)


def test_forward_one_logit_per_point(module: SegmentationModule, clouds: list) -> None:
    batch = Batch.from_data_list(clouds[:3])
    logits = module(batch)
    assert logits.shape == (batch.num_nodes,)
    assert logits.dtype == torch.float32


def test_loss_terms_and_gradient(module: SegmentationModule, clouds: list) -> None:
    batch = Batch.from_data_list(clouds[:3])
    losses = module.compute_loss(module(batch), batch)
    assert set(losses) == {"loss", "bce", "regularization"}
    assert torch.isfinite(losses["loss"])
    torch.testing.assert_close(losses["loss"], losses["bce"] + losses["regularization"])
    losses["loss"].backward()
    gradients = [p.grad for p in module.net.parameters() if p.grad is not None]
    assert gradients
    assert any(float(g.abs().sum()) > 0 for g in gradients)


def test_loss_terms_use_coefficients(clouds: list, feature_names: tuple[str, ...]) -> None:
    module = SegmentationModule(
        model_hparams={**TINY_POINTNET, "input_transform": False, "feature_transform": False},
        feature_names=feature_names,
        loss={"terms": {"bce": 2.0, "dice": 0.5}},
    )
    batch = Batch.from_data_list(clouds[:2])
    losses = module.compute_loss(module(batch), batch)
    torch.testing.assert_close(losses["loss"], 2.0 * losses["bce"] + 0.5 * losses["dice"] + losses["regularization"])
    assert float(losses["regularization"]) == 0.0


def test_repeated_clouds_not_counted(module: SegmentationModule, clouds: list) -> None:
    module.eval()
    flagged = []
    for cloud, repeat in zip([clouds[0], clouds[1], clouds[0]], [False, False, True]):
        copy = cloud.clone()
        copy[REPEAT_FIELD] = torch.tensor([repeat])
        flagged.append(copy)
    with torch.no_grad():
        module.validation_step(Batch.from_data_list(flagged), 0)
        real = Batch.from_data_list(clouds[:2])
        logits = module(real)
        loss = module.compute_loss(logits, real)["loss"]

    expected = SegmentationMetrics()
    expected.update(torch.sigmoid(logits), real.y, real.weight, real.category)
    for name, value in expected.compute().items():
        torch.testing.assert_close(module.val_metrics.compute()[name], value, equal_nan=True, msg=name)
    torch.testing.assert_close(module.val_loss.compute(), loss.to(module.val_loss.compute().dtype))


def test_metric_log_names() -> None:
    names = metric_log_names("val", {"f1": 1, "weighted_f1": 2, "always_one_weighted_f1": 3, "always_zero_accuracy": 4})
    assert names == {
        "val/f1": 1,
        "val/f1_weighted": 2,
        "val/baseline_always1/f1_weighted": 3,
        "val/baseline_always0/accuracy": 4,
    }


def test_hparams_load_weights_only(module: SegmentationModule) -> None:
    buffer = io.BytesIO()
    torch.save({"hyper_parameters": dict(module.hparams)}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)["hyper_parameters"]
    assert loaded["loss"]["weight_transform"] == "absolute"
    assert loaded["optimizer"]["betas"] == [0.9, 0.999]
    rebuilt = SegmentationModule(**loaded)
    rebuilt.load_state_dict(module.state_dict())
    assert rebuilt.optimizer_config == module.optimizer_config


def test_accepts_config_objects(feature_names: tuple[str, ...]) -> None:
    module = SegmentationModule(
        model_hparams=TINY_POINTNET,
        feature_names=feature_names,
        loss=LossConfig(terms={"focal": 1.0}, weight_transform="sqrt"),
        optimizer=OptimizerConfig(name="sgd", lr=0.1, momentum=0.9, nesterov=True),
    )
    assert module.hparams["loss"]["terms"] == {"focal": 1.0}
    assert module.hparams["loss"]["weight_transform"] == "sqrt"
    assert module.hparams["optimizer"]["nesterov"] is True
    assert isinstance(module.configure_optimizers(), torch.optim.SGD)


def test_missing_feature_names_raises() -> None:
    with pytest.raises(ValueError, match="feature_names is missing"):
        SegmentationModule()


def test_unknown_option_raises(feature_names: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="unknown OptimizerConfig options"):
        SegmentationModule(feature_names=feature_names, optimizer={"name": "adamw", "learning_rate": 0.1})


def test_setup_unshares_metric_states(module: SegmentationModule) -> None:
    # ddp_spawn passes the module through shared memory; each process must
    # count into its own metric states.
    shared = [module.val_metrics.confusion.share_memory_(), module.val_loss.mean_value.share_memory_()]
    module.setup("validate")
    assert not module.val_metrics.confusion.is_shared()
    assert not module.val_loss.mean_value.is_shared()
    assert module.val_metrics.confusion.data_ptr() != shared[0].data_ptr()
