"""The YAML configs in configs/: one per registered model, each parsed, built and run through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch

from pflow_geo.models import available_models
from pflow_geo.train import main
from pflow_geo.training import PointCloudDataModule, SegmentationModule
from pflow_geo.training.cli import TrainingCLI, resolve_precision, run_folder_of_checkpoint

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))


def test_one_config_per_model() -> None:
    assert sorted(path.stem for path in CONFIGS) == available_models()


def _data_args(root: Path, sample: Path) -> list[str]:
    return ["--data.root", str(root), "--data.files", json.dumps([str(sample)])]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.stem)
def test_config_builds_trainable_model(config: Path, tmp_path: Path, sample_file: Path) -> None:
    args = ["--config", str(config), *_data_args(tmp_path / "data", sample_file)]
    args += ["--trainer.logger.init_args.save_dir", str(tmp_path / "runs")]
    cli = TrainingCLI(args=args, run=False)

    assert isinstance(cli.model, SegmentationModule)
    assert isinstance(cli.datamodule, PointCloudDataModule)
    assert cli.model.hparams["model_name"] == config.stem
    # data.feature_names reaches the model through the CLI link.
    assert cli.model.feature_names == cli.datamodule.feature_names
    assert cli.trainer.logger.log_dir.startswith(str(tmp_path / "runs" / config.stem))

    dataset = cli.datamodule.dataset("train")
    batch = Batch.from_data_list([dataset[index] for index in range(4)])
    cli.model.train()
    loss = cli.model.compute_loss(cli.model(batch), batch)["loss"]
    assert torch.isfinite(loss)
    loss.backward()
    assert any(parameter.grad is not None for parameter in cli.model.net.parameters())


def test_override_on_command_line(tmp_path: Path, sample_file: Path) -> None:
    args = ["--config", str(CONFIG_DIR / "pointnet.yaml"), *_data_args(tmp_path / "data", sample_file)]
    args += ["--model.optimizer.name", "sgd", "--model.scheduler.name", "cosine_warm_restarts", "--trainer.max_epochs", "7"]
    cli = TrainingCLI(args=args, run=False)
    assert cli.model.optimizer_config.name == "sgd"
    assert cli.model.scheduler_config.name == "cosine_warm_restarts"
    assert cli.trainer.max_epochs == 7


def test_precision_on_cpu_is_float32() -> None:
    assert resolve_precision(None, "cpu") == "32-true"
    assert resolve_precision("16-mixed", "cpu") == "16-mixed"
    if not torch.cuda.is_available():
        assert resolve_precision(None, "auto") == "32-true"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.stem)
def test_config_fits_through_entry_point(config: Path, tmp_path: Path, sample_file: Path, monkeypatch) -> None:
    # fast_dev_run drops the logger, and Lightning then writes checkpoints under the working directory.
    monkeypatch.chdir(tmp_path)
    args = ["fit", "--config", str(config), *_data_args(tmp_path / "data", sample_file)]
    args += ["--trainer.fast_dev_run", "2", "--trainer.accelerator", "cpu", "--data.max_points_per_batch", "500"]
    args += ["--trainer.default_root_dir", str(tmp_path)]
    assert main(args) == 0


def test_resume_folder_from_checkpoint_path(tmp_path: Path) -> None:
    checkpoint = tmp_path / "runs" / "pointnet" / "version_3" / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"")
    assert run_folder_of_checkpoint(str(checkpoint), str(tmp_path / "runs"), "pointnet") == "version_3"
    # Another logger folder, a file elsewhere, a missing file or no checkpoint: a new run folder.
    assert run_folder_of_checkpoint(str(checkpoint), str(tmp_path / "runs"), "dgcnn") is None
    assert run_folder_of_checkpoint(str(checkpoint), str(tmp_path / "other"), "pointnet") is None
    elsewhere = tmp_path / "last.ckpt"
    elsewhere.write_bytes(b"")
    assert run_folder_of_checkpoint(str(elsewhere), str(tmp_path), "pointnet") is None
    assert run_folder_of_checkpoint(str(tmp_path / "missing.ckpt"), str(tmp_path), "pointnet") is None
    assert run_folder_of_checkpoint(None, "runs", "pointnet") is None
