"""Shared inputs of the benchmark tests: a small simulated rho sample and tiny model widths."""

from __future__ import annotations

from pathlib import Path

import pytest

from pflow_geo.benchmark.runner import BenchmarkSettings, Budget, prepare_input

# 60 rho events give about 40 training and 6 validation clouds.
PROCESS, EVENTS, SEED = "rho", 60, 3
# Widths small enough for a CPU epoch well under a second.
TINY_HPARAMS = {
    "pointnet": {
        "local_channels": [8, 8],
        "global_channels": [8, 16],
        "head_channels": [8],
        "tnet_point_channels": [8],
        "tnet_cloud_channels": [8],
    },
    "dgcnn": {"conv_channels": [8, 8], "embedding_channels": 16, "head_channels": [8]},
}


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset directory whose raw/ contains the simulated sample that the settings below name."""
    root = tmp_path_factory.mktemp("benchmark_data")
    prepare_input(PROCESS, EVENTS, SEED, root)
    return root


def tiny_settings(root: Path, **changes) -> BenchmarkSettings:
    """Settings of a 1-epoch benchmark of the tiny PointNet and DGCNN on the sample, with few latency passes."""
    values = dict(
        budget=Budget(epochs=1),
        process=PROCESS,
        events=EVENTS,
        seed=SEED,
        models=["pointnet", "dgcnn"],
        root=str(root),
        hparam_overrides=TINY_HPARAMS,
        # About 10 batches per epoch instead of one.
        extra_cli_args=["--data.max_points_per_batch", "500"],
        isolate=False,
        latency_warmup=1,
        latency_repeats=3,
        threads=1,
    )
    values.update(changes)
    return BenchmarkSettings(**values)
