"""Checkpoints of :class:`SegmentationModule`: how training writes them and how to load them safely.

:class:`BestAndLastCheckpoint` keeps the best epoch and rewrites
``last.ckpt`` after every epoch.

Checkpoints written by ``pflow-geo train`` contain only tensors and built-in
types, so ``torch.load(..., weights_only=True)`` reads them. When
resuming, Lightning 2.6 passes ``Trainer.fit(weights_only=...)`` on to
``torch.load``; ``pflow-geo train`` sets it to True (see
:mod:`pflow_geo.training.cli`), and Lightning's CLI reads the
hyperparameters of ``--ckpt_path`` with ``weights_only=True`` itself.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from ..datasets.fields import BASE_FEATURES
from ..errors import CheckpointError
from .module import SegmentationModule

__all__ = [
    "BestAndLastCheckpoint",
    "read_checkpoint",
    "check_checkpoint_file",
    "unreadable_checkpoint_error",
    "TORCH_LOAD_ERRORS",
    "load_module",
    "data_options",
]

_CHECKPOINT_HINT = "pass a .ckpt file that `pflow-geo train` wrote, e.g. runs/<model>/version_<n>/checkpoints/last.ckpt"

# Exceptions that torch.load(..., weights_only=True) raises for a file it cannot read as a checkpoint.
TORCH_LOAD_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError)


class BestAndLastCheckpoint(ModelCheckpoint):
    """A :class:`ModelCheckpoint` whose ``last.ckpt`` always contains the latest epoch.

    In Lightning 2.6.6, ``save_last=True`` rewrites ``last.ckpt`` only at
    the steps where a top-k checkpoint is saved, so after the best epoch
    ``last.ckpt`` stays a copy of it. Resuming from it would then repeat
    the later epochs. This class also writes ``last.ckpt`` at every other
    point where the parent would save a checkpoint.
    """

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_missed_last(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_missed_last(trainer)

    def _save_missed_last(self, trainer: pl.Trainer) -> None:
        # NOTE: this relies on private ModelCheckpoint members of Lightning 2.6
        # (_should_skip_saving_checkpoint, _last_global_step_saved and
        # _save_last_checkpoint). tests/training/test_fit.py checks the result.
        if not self.save_last or self._should_skip_saving_checkpoint(trainer):
            return
        if self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint file with ``weights_only=True`` onto the CPU.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointError: A ValueError, if the path is a folder or the file is
            not a Lightning checkpoint of :class:`SegmentationModule`.
    """
    path = os.fspath(path)
    check_checkpoint_file(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except TORCH_LOAD_ERRORS as error:
        raise unreadable_checkpoint_error(path, error) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise CheckpointError(path, "not a Lightning checkpoint with state_dict and hyper_parameters", hint=_CHECKPOINT_HINT)
    return checkpoint


def check_checkpoint_file(path: str | os.PathLike[str]) -> None:
    """Check that ``path`` is an existing file in the zip format of ``torch.save``, reading only the zip directory.

    Raises:
        FileNotFoundError: If nothing exists at ``path``.
        CheckpointError: If ``path`` is a folder or not a zip archive.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(path, "this is a folder, not a checkpoint file", hint=_CHECKPOINT_HINT)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    # Any other file, such as a ROOT file, would reach torch's legacy
    # unpickler, which fails with arbitrary errors such as IndexError.
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            path, "not a checkpoint written by `pflow-geo train` (not a zip archive, or a truncated one)", hint=_CHECKPOINT_HINT
        )


def unreadable_checkpoint_error(path: str | os.PathLike[str], error: Exception) -> CheckpointError:
    """Return the CheckpointError for a ``torch.load`` failure, with the first line of torch's message."""
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return CheckpointError(path, f"cannot read the file as a weights-only checkpoint ({first_line})", hint=_CHECKPOINT_HINT)


def load_module(checkpoint: dict[str, Any]) -> SegmentationModule:
    """Rebuild the module of a checkpoint from its hyperparameters and load its weights, in eval mode."""
    hparams = {name: value for name, value in checkpoint["hyper_parameters"].items() if not name.startswith("_")}
    module = SegmentationModule(**hparams)
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()


def data_options(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Return the data-module options saved in a checkpoint.

    Checkpoints of runs without a :class:`PointCloudDataModule` have none;
    their ``features`` are then taken from the model's feature names and
    every other option keeps its default.
    """
    options = dict(checkpoint.get("datamodule_hyper_parameters") or {})
    options = {name: value for name, value in options.items() if not name.startswith("_")}
    if "features" not in options:
        feature_names = list(checkpoint["hyper_parameters"]["feature_names"])
        options["features"] = feature_names[len(BASE_FEATURES) :]
    return options
