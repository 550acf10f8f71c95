"""Distributed data parallel on two CPU processes (gloo on 127.0.0.1) against one process."""

from __future__ import annotations

import math
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from pflow_geo.training import PointCloudDataModule, SegmentationModule
from pflow_geo.training.datamodule import fixed_batches

from .conftest import FEATURES, TINY_POINTNET

pytestmark = pytest.mark.slow

# Clouds per validation batch: the 16 validation clouds of the sample make 3
# batches, so the second rank gets one real batch and one flagged repeat.
VAL_BATCH_SIZE = 6


def _datamodule(root: Path, sample_file: Path) -> PointCloudDataModule:
    return PointCloudDataModule(root=str(root), files=[str(sample_file)], features=FEATURES, batch_size=VAL_BATCH_SIZE)


def _trainer(tmp_path: Path, devices: int, **options) -> pl.Trainer:
    settings = {
        "accelerator": "cpu",
        "devices": devices,
        "strategy": "ddp_spawn" if devices > 1 else "auto",
        "use_distributed_sampler": False,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": tmp_path,
    }
    return pl.Trainer(**{**settings, **options})


@pytest.fixture
def one_thread(monkeypatch: pytest.MonkeyPatch):
    """Run every process with one thread.

    An untrained model gives probabilities near 0.5, where the last bit of a
    logit decides the predicted class. Matrix products summed in another
    order by another number of threads would flip a few cells, so both runs
    use one thread (the spawned processes read OMP_NUM_THREADS).
    """
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_two_processes_match_one(tmp_path: Path, sample_file: Path, one_thread: None) -> None:
    datamodule = _datamodule(tmp_path / "data", sample_file)
    datamodule.prepare_data()
    num_batches = len(fixed_batches(datamodule.dataset("val").num_points, VAL_BATCH_SIZE, None))
    assert num_batches % 2 == 1, "the test needs an odd number of validation batches"

    torch.manual_seed(0)
    module = SegmentationModule(model_hparams=TINY_POINTNET, feature_names=datamodule.feature_names)
    state = {name: value.clone() for name, value in module.state_dict().items()}

    single = _trainer(tmp_path / "one", 1).validate(module, datamodule=datamodule)[0]
    module.load_state_dict(state)
    double = _trainer(tmp_path / "two", 2).validate(module, datamodule=_datamodule(tmp_path / "data", sample_file))[0]

    assert single.keys() == double.keys()
    assert "val/f1_weighted" in single
    assert "val/baseline_always1/precision" in single
    for name, value in single.items():
        if math.isnan(value):
            assert math.isnan(double[name]), name
        else:
            assert double[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


def test_two_process_fit_saves_checkpoint(tmp_path: Path, sample_file: Path) -> None:
    datamodule = _datamodule(tmp_path / "data", sample_file)
    module = SegmentationModule(model_hparams=TINY_POINTNET, feature_names=datamodule.feature_names)
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "checkpoints", monitor="val/f1_weighted", mode="max")
    trainer = _trainer(tmp_path, 2, max_epochs=1, callbacks=[checkpoint], enable_checkpointing=True)
    trainer.fit(module, datamodule=datamodule)

    saved = list((tmp_path / "checkpoints").glob("*.ckpt"))
    assert len(saved) == 1
    loaded = torch.load(saved[0], weights_only=True)
    assert loaded["epoch"] == 0
    # DistributedSampler gives each rank half the training clouds, rounded up.
    clouds_per_rank = math.ceil(len(datamodule.dataset("train")) / 2)
    assert loaded["global_step"] == math.ceil(clouds_per_rank / VAL_BATCH_SIZE)
