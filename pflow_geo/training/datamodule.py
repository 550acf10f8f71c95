"""``PointCloudDataModule``: the train, validation and test splits of a :class:`TrackCloudDataset` for Lightning."""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Iterator, Sequence
from typing import Literal

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler, Sampler
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from ..datasets import CloudConfig, TrackCloudDataset
from ..datasets.loaders import PointBudgetBatchSampler, make_dataloader

__all__ = ["PointCloudDataModule", "EvalBatchSampler", "RepeatFlaggedDataset", "REPEAT_FIELD"]

log = logging.getLogger(__name__)

# Per-cloud bool field set on every evaluation cloud: True for the copies that
# pad a rank's batch list to the common length in distributed runs. Metrics
# skip those clouds so that each cloud is counted once.
REPEAT_FIELD = "is_repeat"


class PointCloudDataModule(pl.LightningDataModule):
    """Train, validation and test splits of a :class:`~pflow_geo.datasets.TrackCloudDataset`.

    ``prepare_data`` reads the MLTree input (simulating it first when
    ``files`` is None and ``root/raw`` is empty) and processes it once, on
    the first process of each node. ``setup`` then loads the splits in
    every process. Events are split by
    event number (see :func:`pflow_geo.datasets.splits.assign_splits`).

    Batches hold either ``batch_size`` clouds or, when
    ``max_points_per_batch`` is set, as many clouds as fit in that many
    points (:class:`~pflow_geo.datasets.loaders.PointBudgetBatchSampler`).
    The training order depends only on ``shuffle_seed`` and the epoch number,
    so a resumed run sees the same batches as an uninterrupted one.

    Distributed runs: the module shards the batches itself, so the trainer
    needs ``use_distributed_sampler=False`` (the default of ``pflow-geo
    train``). Each training rank takes every ``world_size``-th batch, and
    ranks with fewer batches repeat some, as usual in DDP. Each validation
    and test rank also gets every ``world_size``-th batch in a fixed order,
    padded with copies that carry ``is_repeat = True``. Every rank then runs
    the same number of steps, and metrics that skip the copies count every
    cloud exactly once.

    Args:
        root: Dataset directory (``raw/`` and ``processed/``).
        files: MLTree files to read; when None, the ``.root`` files in
            ``<root>/raw`` or, if there are none, the built-in simulated
            single-rho sample.
        cell_geo: Separate file with the ``CellGeo`` tree.
        truth_energy_unit: Unit of ``cluster_cell_hitsTruthE`` in the inputs.
        split_fractions: Fractions of events in (train, val, test).
        split_seed: Seed of the event-to-split assignment.
        delta_r: Cone size around the focus track.
        features: Optional feature columns (``layer``, ``delta_eta``,
            ``delta_phi``, ``significance``).
        min_cells: Tracks with fewer cells in the cone are skipped.
        padded: Pad every cloud to ``max_points`` points.
        max_points: Cloud size in padded mode.
        batch_size: Clouds per batch, when ``max_points_per_batch`` is None.
        max_points_per_batch: Point budget per batch.
        shuffle_seed: Seed of the training order.
        num_workers: Data-loader worker processes.
        processing_workers: Processes used to build the dataset.
        step_size: Events per processing unit.
    """

    def __init__(
        self,
        root: str = "data/rho",
        files: list[str] | None = None,
        cell_geo: str | None = None,
        truth_energy_unit: Literal["MeV", "GeV"] = "MeV",
        split_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
        split_seed: int = 0,
        delta_r: float = 0.2,
        features: list[str] | None = None,
        min_cells: int = 1,
        padded: bool = False,
        max_points: int = 800,
        batch_size: int = 32,
        max_points_per_batch: int | None = None,
        shuffle_seed: int = 0,
        num_workers: int = 0,
        processing_workers: int = 1,
        step_size: int = 1000,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_points_per_batch is not None and max_points_per_batch < 1:
            raise ValueError(f"max_points_per_batch must be at least 1 or None, got {max_points_per_batch}")
        # CloudConfig checks delta_r, the feature names and min_cells.
        self.cloud_config = CloudConfig(delta_r=delta_r, features=tuple(features or ()), min_cells=min_cells)
        self.save_hyperparameters()
        self.root = os.fspath(root)
        self.files = list(files) if files is not None else None
        self.batch_size = batch_size
        self.max_points_per_batch = max_points_per_batch
        self.shuffle_seed = shuffle_seed
        self.num_workers = num_workers
        self.train_dataset: TrackCloudDataset | None = None
        self.val_dataset: TrackCloudDataset | None = None
        self.test_dataset: TrackCloudDataset | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the columns of ``data.x``; known before any data is read."""
        return self.cloud_config.feature_names

    def dataset(self, split: str, *, log_progress: bool = False) -> TrackCloudDataset:
        """Build one split with this module's options, processing the input first if needed."""
        hparams = self.hparams
        return TrackCloudDataset(
            self.root,
            files=self.files,
            split=split,
            split_fractions=hparams.split_fractions,
            split_seed=hparams.split_seed,
            delta_r=hparams.delta_r,
            features=self.cloud_config.features,
            min_cells=hparams.min_cells,
            padded=hparams.padded,
            max_points=hparams.max_points,
            cell_geo=hparams.cell_geo,
            truth_energy_unit=hparams.truth_energy_unit,
            workers=hparams.processing_workers,
            step_size=hparams.step_size,
            log=log_progress,
        )

    def prepare_data(self) -> None:
        """Process the input once, before the other processes load it."""
        dataset = self.dataset("train", log_progress=True)
        log.info("dataset ready in %s (%d training clouds)", dataset.processed_dir, len(dataset))

    def setup(self, stage: str) -> None:
        if stage == "fit":
            if self.train_dataset is None:
                self.train_dataset = self.dataset("train")
            if self.val_dataset is None:
                self.val_dataset = self.dataset("val")
            for name, dataset in (("train", self.train_dataset), ("val", self.val_dataset)):
                if len(dataset) == 0:
                    raise ValueError(
                        f"the {name} split of {dataset.processed_dir} contains no clouds; "
                        "use more events or change split_fractions"
                    )
        elif stage == "validate" and self.val_dataset is None:
            self.val_dataset = self.dataset("val")
        elif stage in ("test", "predict") and self.test_dataset is None:
            self.test_dataset = self.dataset("test")

    # ------------------------------------------------------------------ loaders
    def _ranks(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def train_dataloader(self) -> DataLoader:
        world_size, rank = self._ranks()
        if self.max_points_per_batch is not None:
            return make_dataloader(
                self.train_dataset,
                max_points_per_batch=self.max_points_per_batch,
                shuffle=True,
                seed=self.shuffle_seed,
                num_workers=self.num_workers,
                num_replicas=world_size,
                rank=rank,
                persistent_workers=self.num_workers > 0,
            )
        # DistributedSampler also serves a single process: its order depends
        # only on the seed and the epoch that Lightning sets through set_epoch.
        sampler = DistributedSampler(self.train_dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=self.shuffle_seed)
        return DataLoader(
            self.train_dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader:
        return self.eval_dataloader(self.val_dataset)

    def test_dataloader(self) -> DataLoader:
        return self.eval_dataloader(self.test_dataset)

    def predict_dataloader(self) -> DataLoader:
        return self.eval_dataloader(self.test_dataset)

    def eval_dataloader(self, dataset: TrackCloudDataset) -> DataLoader:
        """Return a loader over ``dataset`` in a fixed order, sharded over ranks without double counting."""
        world_size, rank = self._ranks()
        sampler = EvalBatchSampler(
            fixed_batches(dataset.num_points, self.batch_size, self.max_points_per_batch),
            len(dataset),
            num_replicas=world_size,
            rank=rank,
        )
        return DataLoader(RepeatFlaggedDataset(dataset), batch_sampler=sampler, num_workers=self.num_workers)


def fixed_batches(num_points: Sequence[int] | torch.Tensor, batch_size: int, max_points_per_batch: int | None) -> list[list[int]]:
    """Cut the clouds, in order, into batches of ``batch_size`` clouds or of at most ``max_points_per_batch`` points.

    A single cloud larger than the budget forms a batch of its own.
    """
    sizes = np.asarray(num_points, dtype=np.int64)
    if max_points_per_batch is None:
        return [list(range(start, min(start + batch_size, sizes.size))) for start in range(0, sizes.size, batch_size)]
    return list(PointBudgetBatchSampler(sizes, max_points_per_batch, shuffle=False))


class EvalBatchSampler(Sampler[list[int]]):
    """Evaluation batches split over ranks, each cloud counted once.

    Rank ``r`` takes batches ``r, r + W, r + 2W, ...`` of ``batches`` (``W``
    ranks). Ranks left with fewer than ``ceil(len(batches) / W)`` batches
    are topped up with copies of the first batches, whose indices are
    shifted by ``dataset_size`` so that :class:`RepeatFlaggedDataset` marks
    them as repeats.

    Args:
        batches: Cloud indices of every batch, in order.
        dataset_size: Number of clouds in the dataset.
        num_replicas: Number of ranks ``W``.
        rank: This process's rank.
    """

    def __init__(self, batches: list[list[int]], dataset_size: int, *, num_replicas: int = 1, rank: int = 0) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, {num_replicas}), got {rank}")
        self.dataset_size = dataset_size
        own = batches[rank::num_replicas]
        length = math.ceil(len(batches) / num_replicas)
        fill = [[index + dataset_size for index in batches[i % len(batches)]] for i in range(length - len(own))] if batches else []
        self.batches = own + fill

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches

    def __len__(self) -> int:
        return len(self.batches)


class RepeatFlaggedDataset(Dataset):
    """A view of a dataset with twice its length, where indices ``>= len(dataset)`` return flagged copies.

    Every returned cloud gets the per-cloud bool field ``is_repeat``: False for
    index ``i < len(dataset)``, True for the copy of cloud ``i - len(dataset)``.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return 2 * len(self.dataset)

    def __getitem__(self, index: int) -> Data:
        size = len(self.dataset)
        # A shallow copy, so that the flag never lands on a cloud the dataset keeps.
        data = copy.copy(self.dataset[index % size])
        data[REPEAT_FIELD] = torch.tensor([index >= size])
        return data
