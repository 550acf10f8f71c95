"""Shared inputs of the training tests: a small random sample and tiny model settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .synthetic import write_random_events

# PointNet small enough for a CPU epoch of about a second, with both T-Nets
# so that the orthogonality term is exercised. No dropout, so that resumed
# and uninterrupted runs compute the same weights.
TINY_POINTNET = {
    "local_channels": [16, 16],
    "global_channels": [16, 32],
    "head_channels": [16],
    "tnet_point_channels": [16],
    "tnet_cloud_channels": [16],
    "dropout": 0.0,
}
FEATURES = ["layer", "delta_eta", "delta_phi"]
NUM_EVENTS = 60


@pytest.fixture(scope="session")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLTree file of NUM_EVENTS random two-pion events."""
    return write_random_events(tmp_path_factory.mktemp("sample") / "events.root", NUM_EVENTS, seed=0)


def fit_args(root: Path, sample: Path, save_dir: Path, *extra: str, epochs: int = 2) -> list[str]:
    """Command-line arguments of a tiny `fit` run of configs/pointnet.yaml on the sample.

    About 12 optimizer steps per epoch at a high learning rate: enough for
    the tiny PointNet to beat the trivial baselines within 3 epochs.
    """
    config = Path(__file__).resolve().parents[2] / "configs" / "pointnet.yaml"
    return [
        "fit",
        "--config",
        str(config),
        "--data.root",
        str(root),
        "--data.files",
        json.dumps([str(sample)]),
        "--data.features",
        json.dumps(FEATURES),
        "--data.max_points_per_batch",
        "500",
        "--model.optimizer.lr",
        "0.01",
        "--model.model_hparams",
        json.dumps(TINY_POINTNET),
        "--trainer.max_epochs",
        str(epochs),
        "--trainer.accelerator",
        "cpu",
        "--trainer.devices",
        "1",
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
        "--trainer.logger.init_args.save_dir",
        str(save_dir),
        "--event_displays.num_displays",
        "2",
        *extra,
    ]
