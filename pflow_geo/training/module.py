"""``SegmentationModule``: a registered segmentation model trained with the cell loss and evaluated on cells."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch_geometric.data import Batch
from torchmetrics import MeanMetric

from ..datasets.fields import Category
from ..errors import UsageError
from ..metrics import SegmentationMetrics
from ..models import build_model
from .config import (
    LossConfig,
    OptimizerConfig,
    SchedulerConfig,
    build_optimizer,
    build_scheduler,
    coerce_config,
    config_to_dict,
)
from .datamodule import REPEAT_FIELD

__all__ = ["SegmentationModule", "MONITOR", "metric_log_names"]

# The figure that selects the best checkpoint and drives early stopping.
MONITOR = "val/f1_weighted"

# Prefixes of pflow_geo.metrics figures -> folder of the logged name.
_CLASSIFIER_FOLDERS = {"always_one_": "baseline_always1/", "always_zero_": "baseline_always0/", "": ""}


def metric_log_names(stage: str, figures: Mapping[str, Any]) -> dict[str, Any]:
    """Rename figures of :mod:`pflow_geo.metrics` to logged names.

    ``weighted_f1`` becomes ``<stage>/f1_weighted``, ``f1`` becomes
    ``<stage>/f1`` and ``always_one_weighted_f1`` becomes
    ``<stage>/baseline_always1/f1_weighted``.
    """
    renamed = {}
    for key, value in figures.items():
        folder = ""
        for prefix, classifier_folder in _CLASSIFIER_FOLDERS.items():
            if prefix and key.startswith(prefix):
                key, folder = key[len(prefix) :], classifier_folder
                break
        if key.startswith("weighted_"):
            key = f"{key[len('weighted_'):]}_weighted"
        renamed[f"{stage}/{folder}{key}"] = value
    return renamed


class SegmentationModule(pl.LightningModule):
    """Train a model of :mod:`pflow_geo.models` to assign calorimeter cells to the focus track.

    The model returns one logit per point. The loss
    (:class:`pflow_geo.losses.CombinedLoss`) and every figure use the cell
    points only; figures of :class:`pflow_geo.metrics.SegmentationMetrics`
    are exact over each epoch and summed over distributed ranks. They are
    logged per epoch as ``train/...``, ``val/...`` and ``test/...``, with the
    always-1 and always-0 classifiers of the same cells under
    ``<stage>/baseline_always1/`` and ``<stage>/baseline_always0/``.
    Evaluation clouds flagged ``is_repeat`` (padding copies in distributed
    runs) are left out of every figure. A model with a
    ``regularization_loss()`` method (PointNet's T-Net penalty) has it added
    to the training loss.

    All arguments are built-in types or the dataclasses of
    :mod:`pflow_geo.training.config`, which are saved as dictionaries, so
    checkpoints load with ``torch.load(..., weights_only=True)``.

    Args:
        model_name: Name of a registered model (see :func:`pflow_geo.models.available_models`).
        model_hparams: Keyword arguments of the model.
        feature_names: Names of the columns of ``data.x``; Lightning's CLI
            links them from ``data.feature_names``.
        loss: Loss options.
        optimizer: Optimizer options.
        scheduler: Learning-rate schedule.
        threshold: Probability above which a cell counts as assigned to the track.
        roc_auc: Compute ROC AUC figures, which keep every cell's score until
            the end of the epoch (24 bytes per cell).
    """

    def __init__(
        self,
        model_name: str = "pointnet",
        model_hparams: dict[str, Any] | None = None,
        feature_names: Sequence[str] | None = None,
        loss: LossConfig = LossConfig(),
        optimizer: OptimizerConfig = OptimizerConfig(),
        scheduler: SchedulerConfig = SchedulerConfig(),
        threshold: float = 0.5,
        roc_auc: bool = True,
    ) -> None:
        super().__init__()
        if feature_names is None:
            raise ValueError("feature_names is missing; pass the dataset's feature_names (the CLI links data.feature_names)")
        self.loss_config = coerce_config(loss, LossConfig)
        self.optimizer_config = coerce_config(optimizer, OptimizerConfig)
        self.scheduler_config = coerce_config(scheduler, SchedulerConfig)
        self.save_hyperparameters()
        # Checkpoints must contain built-in types only, for weights_only loading.
        plain = {
            "feature_names": list(feature_names),
            "model_hparams": dict(model_hparams or {}),
            "loss": config_to_dict(self.loss_config),
            "optimizer": config_to_dict(self.optimizer_config),
            "scheduler": config_to_dict(self.scheduler_config),
        }
        self.hparams.update(plain)
        self._hparams_initial.update(plain)

        self.feature_names = tuple(feature_names)
        self.net = build_model(model_name, self.feature_names, **(model_hparams or {}))
        self.criterion = self.loss_config.build()
        self.threshold = threshold
        self.train_metrics = SegmentationMetrics(threshold, roc_auc=roc_auc, validate_args=False)
        self.val_metrics = SegmentationMetrics(threshold, roc_auc=roc_auc, validate_args=False)
        self.test_metrics = SegmentationMetrics(threshold, roc_auc=roc_auc, validate_args=False)
        # Epoch losses: per-batch losses averaged with the batch's cell count as weight.
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()
        # Cells of the last validation epoch, gathered over ranks, for the precision-recall curve.
        self.validation_cells: dict[str, torch.Tensor] | None = None
        # Figures of the last validation epoch, by logged name.
        self.validation_figures: dict[str, float] = {}

    def setup(self, stage: str) -> None:
        # ddp_spawn hands the module to its processes through shared memory.
        # Lightning gives each process private parameters and buffers, but
        # metric states are neither; without fresh states the CPU ranks would
        # all add into one tensor.
        for metric in (self.train_metrics, self.val_metrics, self.test_metrics, self.val_loss, self.test_loss):
            metric.reset()

    # ------------------------------------------------------------------ forward and loss
    def forward(self, batch: Batch) -> torch.Tensor:
        """Return one float32 logit per point of ``batch``, shape ``[num_points]``."""
        return self.net(batch).float()

    def compute_loss(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """Return the total loss under ``loss`` and each term (coefficients not applied) by name."""
        terms = self.criterion.compute_terms(logits, batch)
        total = sum(self.criterion.coefficients[name] * value for name, value in terms.items())
        regularization = getattr(self.net, "regularization_loss", None)
        if callable(regularization):
            terms["regularization"] = regularization()
            total = total + terms["regularization"]
        return {"loss": total, **terms}

    # ------------------------------------------------------------------ steps
    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        logits = self(batch)
        losses = self.compute_loss(logits, batch)
        num_clouds = batch.num_graphs
        self.log("train/loss", losses["loss"], on_step=True, on_epoch=True, prog_bar=True, batch_size=num_clouds, sync_dist=True)
        for name, value in losses.items():
            if name != "loss":
                self.log(f"train/loss_{name}", value, on_step=False, on_epoch=True, batch_size=num_clouds, sync_dist=True)
        self.train_metrics.update(torch.sigmoid(logits.detach()), batch.y, batch.weight, batch.category)
        return losses["loss"]

    def on_train_epoch_end(self) -> None:
        # compute() already sums over ranks, so every rank logs the same
        # values. sync_dist averages those equal values, which leaves them
        # unchanged and stops Lightning from warning about unsynced epoch logs.
        self.log_dict(metric_log_names("train", self.train_metrics.compute()), sync_dist=True)
        self.train_metrics.reset()

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluation_step(batch, self.val_metrics, self.val_loss)

    def on_validation_epoch_end(self) -> None:
        metric = self.val_metrics
        if metric.roc_auc:
            # All ranks take part in the gather; the curve callback reads the result on rank 0.
            with metric.sync_context():
                self.validation_cells = {
                    "scores": _concatenate(metric.scores).cpu(),
                    "labels": _concatenate(metric.labels).cpu(),
                    "weights": _concatenate(metric.weights).cpu(),
                }
        figures = {"val/loss": self.val_loss.compute(), **metric_log_names("val", metric.compute())}
        self.log_dict({name: value for name, value in figures.items() if name != MONITOR}, sync_dist=True)
        self.log(MONITOR, figures[MONITOR], prog_bar=True, sync_dist=True)
        self.validation_figures = {name: float(value) for name, value in figures.items()}
        metric.reset()
        self.val_loss.reset()

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluation_step(batch, self.test_metrics, self.test_loss)

    def on_test_epoch_end(self) -> None:
        figures = {"test/loss": self.test_loss.compute(), **metric_log_names("test", self.test_metrics.compute())}
        self.log_dict(figures, sync_dist=True)
        self.test_metrics.reset()
        self.test_loss.reset()

    def predict_step(self, batch: Batch, batch_idx: int) -> list[torch.Tensor]:
        """Return the probability of every point, one tensor per cloud of ``batch``."""
        probabilities = torch.sigmoid(self(batch))
        return list(probabilities.split(batch.ptr.diff().tolist()))

    def _evaluation_step(self, batch: Batch, metric: SegmentationMetrics, loss_metric: MeanMetric) -> None:
        logits = self(batch)
        category = batch.category
        repeat = getattr(batch, REPEAT_FIELD, None)
        if repeat is not None and bool(repeat.any()):
            # Points of repeated clouds become padding, which neither the loss nor the figures count.
            category = torch.where(repeat[batch.batch], torch.full_like(category, int(Category.PADDING)), category)
            batch = batch.clone()
            batch.category = category
        num_cells = (category == Category.CELL).sum()
        if num_cells > 0:
            loss_metric.update(self.compute_loss(logits, batch)["loss"].detach(), num_cells)
        metric.update(torch.sigmoid(logits), batch.y, batch.weight, category)

    # ------------------------------------------------------------------ optimization
    def on_train_start(self) -> None:
        # A resumed one-cycle schedule keeps the length of the run that saved
        # it and would fail at its last step; stop before training instead.
        scheduler = self.lr_schedulers()
        if isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR):
            expected = self.trainer.estimated_stepping_batches
            if scheduler.total_steps != expected:
                raise UsageError(
                    f"the one_cycle schedule covers {scheduler.total_steps} optimizer steps but this run has {expected}; "
                    "resume with the trainer.max_epochs and trainer.max_steps of the run that wrote the checkpoint; "
                    "runs that may be extended need --model.scheduler.name cosine_warm_restarts or none"
                )

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.optimizer_config, self.parameters())
        if self.scheduler_config.name == "none":
            return optimizer
        trainer = self.trainer
        total_steps = trainer.estimated_stepping_batches
        # estimated_stepping_batches has set up the training loader, so its length is known.
        batches = trainer.num_training_batches
        steps_per_epoch = math.ceil(batches / trainer.accumulate_grad_batches) if math.isfinite(batches) else 1
        scheduler = build_scheduler(
            self.scheduler_config, optimizer, self.optimizer_config, total_steps=total_steps, steps_per_epoch=steps_per_epoch
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}


def _concatenate(state: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    if isinstance(state, torch.Tensor):
        return state
    return torch.cat(state) if state else torch.zeros(0, dtype=torch.float64)
