"""Data loaders for the point-cloud splits, with batches of a fixed number of clouds or of a point budget."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler
from torch_geometric.loader import DataLoader

__all__ = ["PointBudgetBatchSampler", "make_dataloader"]


class PointBudgetBatchSampler(Sampler[list[int]]):
    """Batches of clouds whose total number of points stays within a budget.

    Clouds are taken in order, shuffled when ``shuffle`` is set, and a batch
    is closed before it would exceed ``max_points``. A single cloud larger
    than the budget forms a batch of its own.

    With ``num_replicas > 1`` every rank draws the same shuffled order and
    takes every ``num_replicas``-th batch. All ranks get the same number of
    batches because the first batches are repeated at the end where needed, so
    distributed training never waits on a rank that ran out of data.

    Args:
        num_points: Number of points of each cloud.
        max_points: Point budget per batch.
        shuffle: Shuffle the clouds each epoch (call :meth:`set_epoch`).
        seed: Seed of the shuffling.
        num_replicas: Number of distributed ranks.
        rank: This process's rank.
    """

    def __init__(
        self,
        num_points: Sequence[int] | torch.Tensor,
        max_points: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if max_points < 1:
            raise ValueError(f"max_points must be at least 1, got {max_points}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, {num_replicas}), got {rank}")
        self.num_points = np.asarray(num_points, dtype=np.int64)
        self.max_points = int(max_points)
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which changes the shuffled order."""
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        order = np.arange(len(self.num_points))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        batches: list[list[int]] = []
        current: list[int] = []
        used = 0
        for index in order.tolist():
            size = int(self.num_points[index])
            if current and used + size > self.max_points:
                batches.append(current)
                current, used = [], 0
            current.append(index)
            used += size
        if current:
            batches.append(current)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        if self.num_replicas == 1:
            yield from batches
            return
        per_rank = math.ceil(len(batches) / self.num_replicas)
        padded = batches + batches[: per_rank * self.num_replicas - len(batches)]
        yield from padded[self.rank :: self.num_replicas]

    def __len__(self) -> int:
        return math.ceil(len(self._all_batches()) / self.num_replicas)


def make_dataloader(
    dataset,
    *,
    batch_size: int | None = 32,
    max_points_per_batch: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    num_replicas: int = 1,
    rank: int = 0,
    **kwargs,
) -> DataLoader:
    """Return a PyG ``DataLoader`` over a :class:`TrackCloudDataset` split.

    Args:
        dataset: The split to load.
        batch_size: Clouds per batch; ignored when ``max_points_per_batch`` is set.
        max_points_per_batch: Point budget per batch (see :class:`PointBudgetBatchSampler`).
        shuffle: Shuffle the clouds.
        seed: Seed of the point-budget sampler's shuffling.
        num_workers: Loader worker processes.
        num_replicas, rank: Distributed ranks for the point-budget sampler.
        **kwargs: Passed to ``torch_geometric.loader.DataLoader``.
    """
    if max_points_per_batch is not None:
        sizes = getattr(dataset, "num_points", None)
        if sizes is None:
            sizes = [dataset[i].num_nodes for i in range(len(dataset))]
        else:
            # A view made by dataset[indices] shares num_points with its parent.
            sizes = np.asarray(sizes)[np.asarray(list(dataset.indices()), dtype=np.int64)]
        sampler = PointBudgetBatchSampler(sizes, max_points_per_batch, shuffle=shuffle, seed=seed, num_replicas=num_replicas, rank=rank)
        return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, **kwargs)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers, **kwargs)
