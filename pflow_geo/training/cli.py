"""``TrainingCLI``: Lightning's CLI set up for :class:`SegmentationModule` and :class:`PointCloudDataModule`.

What it adds to :class:`lightning.pytorch.cli.LightningCLI`:

* ``data.feature_names`` is passed to ``model.feature_names`` when the
  classes are built, so configs never list the feature columns twice.
* ``checkpoint`` (a :class:`~pflow_geo.training.checkpoints.BestAndLastCheckpoint`)
  keeps the best epoch by ``val/f1_weighted`` as ``best-epochNNN.ckpt``
  and rewrites ``last.ckpt`` after every epoch.
* ``early_stopping`` (an :class:`EarlyStopping`) stops when
  ``val/f1_weighted`` has not improved for ``patience`` validations.
* ``event_displays`` (an :class:`EventDisplayLogger`) sets the displays.
  The learning rate, the precision-recall curves and the hyperparameters
  with final figures are always logged.
* The default logger is a ``TensorBoardLogger`` writing to
  ``runs/<model_name>/version_<n>/``. That run folder also receives the
  resolved ``config.yaml`` and the ``checkpoints/`` folder. ``fit
  --ckpt_path runs/<model_name>/version_<n>/checkpoints/last.ckpt``
  continues in that folder (see :func:`run_folder_of_checkpoint`) and
  rewrites its ``config.yaml``; a checkpoint from elsewhere starts a new folder.
* ``trainer.precision: null`` (the default) becomes ``bf16-mixed`` on CUDA
  GPUs that support bfloat16, else ``32-true``.
* ``seed_everything`` defaults to 0 and seeds the loader workers too.
* ``trainer.use_distributed_sampler`` defaults to False, because the data
  module shards batches over ranks itself.
* ``--weights_only`` defaults to True, so ``--ckpt_path`` is read with
  ``torch.load(..., weights_only=True)``; checkpoints of
  :class:`SegmentationModule` contain only tensors and built-in types.
"""

from __future__ import annotations

from typing import Any

from pathlib import Path

import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from .callbacks import EventDisplayLogger, FinalHyperparametersLogger, PrecisionRecallCurveLogger
from .checkpoints import BestAndLastCheckpoint
from .datamodule import PointCloudDataModule
from .module import MONITOR, SegmentationModule

__all__ = ["TrainingCLI", "TRAINER_DEFAULTS", "resolve_precision", "run_folder_of_checkpoint"]

_TENSORBOARD = "lightning.pytorch.loggers.TensorBoardLogger"
_DEFAULT_LOGGER_NAME = "lightning_logs"

TRAINER_DEFAULTS: dict[str, Any] = {
    "logger": {"class_path": _TENSORBOARD, "init_args": {"save_dir": "runs", "default_hp_metric": False}},
    "use_distributed_sampler": False,
    "log_every_n_steps": 10,
}


def _always_on_callbacks() -> list:
    return [
        LearningRateMonitor(logging_interval="step"),
        PrecisionRecallCurveLogger(),
        FinalHyperparametersLogger(),
    ]


def resolve_precision(precision: Any, accelerator: Any) -> Any:
    """Return ``precision``, or for None the mixed precision the device supports.

    None gives ``bf16-mixed`` when the accelerator may be a CUDA GPU
    (``auto``, ``gpu`` or ``cuda``), one is available and it supports
    bfloat16; else ``32-true``. bfloat16 keeps float32's exponent range, so
    unlike float16 it needs no loss scaling and does not overflow.
    """
    if precision is not None:
        return precision
    accelerator_name = accelerator if isinstance(accelerator, str) else None
    if accelerator_name in ("auto", "gpu", "cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


class TrainingCLI(LightningCLI):
    """The ``pflow-geo train`` command line; see the module docstring.

    Args:
        args: Command-line arguments (without the program name); ``sys.argv`` when None.
        run: Run the subcommand (``fit``, ``validate``, ``test``, ``predict``)
            after building the classes; with False, only build them from
            ``args`` without a subcommand.
        **kwargs: Passed to :class:`LightningCLI`.
    """

    def __init__(self, args: Any = None, run: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        kwargs.setdefault("seed_everything_default", 0)
        kwargs.setdefault("trainer_defaults", {**TRAINER_DEFAULTS, "callbacks": _always_on_callbacks()})
        parser_kwargs = {"description": "Train and evaluate pflow_geo segmentation models."}
        parser_kwargs.update(kwargs.pop("parser_kwargs", None) or {})
        super().__init__(
            SegmentationModule,
            PointCloudDataModule,
            auto_configure_optimizers=False,
            args=args,
            run=run,
            parser_kwargs=parser_kwargs,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.feature_names", "model.feature_names", apply_on="instantiate")

        parser.add_lightning_class_args(BestAndLastCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": MONITOR,
                "checkpoint.mode": "max",
                "checkpoint.save_last": True,
                "checkpoint.filename": "best-epoch{epoch:03d}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        parser.add_lightning_class_args(EarlyStopping, "early_stopping")
        parser.set_defaults({"early_stopping.monitor": MONITOR, "early_stopping.mode": "max", "early_stopping.patience": 10})
        parser.add_lightning_class_args(EventDisplayLogger, "event_displays")

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        if self.subcommand and config.get("weights_only") is None:
            # Load --ckpt_path without unpickling code, even when TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set.
            config.weights_only = True
        trainer = config.trainer
        trainer.precision = resolve_precision(trainer.precision, trainer.accelerator)
        logger = trainer.logger
        if getattr(logger, "class_path", None) == _TENSORBOARD:
            if logger.init_args.name == _DEFAULT_LOGGER_NAME:
                logger.init_args.name = config.model.model_name
            if self.subcommand == "fit" and logger.init_args.version is None:
                logger.init_args.version = run_folder_of_checkpoint(
                    config.get("ckpt_path"), logger.init_args.save_dir, logger.init_args.name
                )


def run_folder_of_checkpoint(ckpt_path: str | None, save_dir: str, name: str) -> str | None:
    """Return the run folder name (``version_<n>``) of a checkpoint in ``<save_dir>/<name>/version_<n>/checkpoints/``.

    A fit resumed from such a checkpoint keeps logging into that folder, so
    its TensorBoard curves continue, and ``ModelCheckpoint`` restores the
    best score it tracked (Lightning restores it only when the checkpoint
    folder is unchanged). Returns None for any other path, which gives the
    resumed run a new folder.
    """
    if not ckpt_path or not Path(ckpt_path).is_file():
        return None
    checkpoint_dir = Path(ckpt_path).resolve().parent
    run_dir = checkpoint_dir.parent
    if checkpoint_dir.name != "checkpoints" or not run_dir.name.startswith("version_"):
        return None
    if run_dir.parent != (Path(save_dir) / name).resolve():
        return None
    return run_dir.name
