"""PointCloudDataModule: splits, training order per epoch, and evaluation batches sharded without double counting."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data

from pflow_geo.datasets.fields import BASE_FEATURES
from pflow_geo.training.datamodule import (
    REPEAT_FIELD,
    EvalBatchSampler,
    PointCloudDataModule,
    RepeatFlaggedDataset,
    fixed_batches,
)

from .conftest import FEATURES


@pytest.fixture(scope="module")
def datamodule(tmp_path_factory: pytest.TempPathFactory, sample_file: Path) -> PointCloudDataModule:
    module = PointCloudDataModule(
        root=str(tmp_path_factory.mktemp("data")), files=[str(sample_file)], features=FEATURES, max_points_per_batch=500
    )
    module.prepare_data()
    module.setup("fit")
    return module


def test_feature_names_known_before_data() -> None:
    module = PointCloudDataModule(root="unused", features=["layer", "significance"])
    assert module.feature_names == BASE_FEATURES + ("layer", "significance")


def test_unknown_feature_raises() -> None:
    with pytest.raises(ValueError, match="unknown feature"):
        PointCloudDataModule(root="unused", features=["energy_density"])


def test_empty_validation_split_raises(tmp_path: Path, sample_file: Path) -> None:
    module = PointCloudDataModule(root=str(tmp_path), files=[str(sample_file)], split_fractions=(1.0, 0.0, 0.0))
    module.prepare_data()
    with pytest.raises(ValueError, match="the val split .* contains no clouds"):
        module.setup("fit")


def _batches(loader) -> list[list[int]]:
    return [list(batch) for batch in loader.batch_sampler]


def test_training_order_set_by_epoch(datamodule: PointCloudDataModule) -> None:
    loader = datamodule.train_dataloader()
    loader.batch_sampler.set_epoch(0)
    first = _batches(loader)
    loader.batch_sampler.set_epoch(1)
    second = _batches(loader)
    assert first != second
    assert sorted(i for batch in first for i in batch) == list(range(len(datamodule.train_dataset)))

    # A new loader, as a resumed run builds, repeats the order of each epoch.
    again = datamodule.train_dataloader()
    again.batch_sampler.set_epoch(1)
    assert _batches(again) == second


def test_training_order_fixed_batch_size(datamodule: PointCloudDataModule) -> None:
    datamodule.max_points_per_batch = None
    try:
        loader = datamodule.train_dataloader()
        loader.sampler.set_epoch(3)
        order = list(loader.sampler)
        loader.sampler.set_epoch(4)
        assert list(loader.sampler) != order
        loader.sampler.set_epoch(3)
        assert list(loader.sampler) == order
        assert sorted(order) == list(range(len(datamodule.train_dataset)))
    finally:
        datamodule.max_points_per_batch = 500


def test_point_budget_respected(datamodule: PointCloudDataModule) -> None:
    sizes = datamodule.val_dataset.num_points
    batches = fixed_batches(sizes, 32, 300)
    assert [i for batch in batches for i in batch] == list(range(len(sizes)))
    for batch in batches:
        assert len(batch) == 1 or int(sizes[batch].sum()) <= 300


def test_fixed_batches_by_count() -> None:
    assert fixed_batches([5] * 7, 3, None) == [[0, 1, 2], [3, 4, 5], [6]]


@pytest.mark.parametrize("num_batches", [1, 2, 3, 5])
@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_eval_batches_cover_each_cloud_once(num_batches: int, world_size: int) -> None:
    batches = [[2 * b, 2 * b + 1] for b in range(num_batches)]
    dataset_size = 2 * num_batches
    per_rank = [list(EvalBatchSampler(batches, dataset_size, num_replicas=world_size, rank=rank)) for rank in range(world_size)]

    assert len({len(rank_batches) for rank_batches in per_rank}) == 1
    real = sorted(i for rank_batches in per_rank for batch in rank_batches for i in batch if i < dataset_size)
    assert real == list(range(dataset_size))
    for rank_batches in per_rank:
        for batch in rank_batches:
            # A batch is either all real clouds or all repeats.
            assert len({i >= dataset_size for i in batch}) == 1


def test_eval_sampler_rejects_bad_rank() -> None:
    with pytest.raises(ValueError, match="rank must be in"):
        EvalBatchSampler([[0]], 1, num_replicas=2, rank=2)


def test_repeat_flags() -> None:
    clouds = [Data(x=torch.full((2, 1), float(i))) for i in range(3)]
    dataset = RepeatFlaggedDataset(clouds)
    assert len(dataset) == 6
    assert not bool(dataset[1][REPEAT_FIELD])
    copy = dataset[4]
    assert bool(copy[REPEAT_FIELD])
    assert torch.equal(copy.x, clouds[1].x)
    assert REPEAT_FIELD not in clouds[1]


def test_validation_loader_flags_nothing_on_one_rank(datamodule: PointCloudDataModule) -> None:
    batches = list(datamodule.val_dataloader())
    assert sum(batch.num_graphs for batch in batches) == len(datamodule.val_dataset)
    assert not any(bool(batch[REPEAT_FIELD].any()) for batch in batches)
