"""Peak memory, latency and budget checks of the benchmark, on small tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from pflow_geo.benchmark.measure import PeakMemory, measure_latency
from pflow_geo.benchmark.runner import Budget


def test_peak_memory_sees_allocation() -> None:
    with PeakMemory(torch.device("cpu")) as memory:
        block = np.ones(64 * 1024 * 1024 // 8)  # 64 MiB, touched so that it is resident
        del block
    assert memory.peak_mib >= 60
    assert memory.peak_mib < 200


def test_peak_memory_after_freed_allocation() -> None:
    block = np.ones(64 * 1024 * 1024 // 8)
    del block
    with PeakMemory(torch.device("cpu")) as memory:
        small = np.ones(1024)
        del small
    # The earlier, larger peak must not count in this block.
    assert memory.peak_mib < 32


def _clouds(count: int) -> list[Data]:
    generator = torch.Generator().manual_seed(0)
    return [Data(x=torch.randn(5 + index, 3, generator=generator)) for index in range(count)]


def test_latency_per_cloud() -> None:
    calls = []

    def model(batch):
        calls.append(batch.num_graphs)
        return batch.x.sum(dim=1)

    seconds = measure_latency(model, _clouds(3), 4, torch.device("cpu"), warmup=2, repeats=5)

    assert len(seconds) == 5
    assert all(value > 0 for value in seconds)
    # Batches are filled by cycling through the three clouds.
    assert calls == [4] * 7


def test_latency_rejects_no_clouds() -> None:
    with pytest.raises(ValueError, match="at least one cloud"):
        measure_latency(lambda batch: batch.x, [], 1, torch.device("cpu"))


@pytest.mark.parametrize(
    ("epochs", "seconds", "message"),
    [
        (None, None, "exactly one"),
        (2, 10.0, "exactly one"),
        (0, None, "epochs must be at least 1"),
        (None, -1.0, "seconds must be positive"),
    ],
)
def test_budget_rejects_invalid(epochs, seconds, message) -> None:
    with pytest.raises(ValueError, match=message):
        Budget(epochs=epochs, seconds=seconds)


def test_budget_describe() -> None:
    assert Budget(epochs=1).describe() == "1 epoch"
    assert Budget(epochs=3).describe() == "3 epochs"
    assert Budget(seconds=90).describe() == "90 s of training"
