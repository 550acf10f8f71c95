"""TensorBoard callbacks: precision-recall curves, event displays and hyperparameters with final figures.

Each callback writes only on global rank zero and only through a
:class:`~lightning.pytorch.loggers.TensorBoardLogger` of the trainer; with
no such logger it does nothing. None of them runs during Lightning's
sanity-check validation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from torch_geometric.data import Batch, Data

from ..datasets.fields import Category

__all__ = ["PrecisionRecallCurveLogger", "EventDisplayLogger", "FinalHyperparametersLogger", "select_display_clouds"]

log = logging.getLogger(__name__)


def _tensorboard(trainer: pl.Trainer) -> Any | None:
    """Return the ``SummaryWriter`` of the trainer's TensorBoard logger, or None."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


def _should_write(trainer: pl.Trainer) -> bool:
    return trainer.is_global_zero and not trainer.sanity_checking


class PrecisionRecallCurveLogger(Callback):
    """Write the validation precision-recall curves of the cells after each validation epoch.

    Two curves, ``val/pr_curve`` (each cell counts 1) and
    ``val/pr_curve_weighted`` (each cell weighs ``|E|``), over the cells of
    every rank, as gathered by :class:`~pflow_geo.training.module.SegmentationModule`
    (which needs ``roc_auc=True`` to keep them).

    Args:
        num_thresholds: Number of probability thresholds of each curve.
    """

    def __init__(self, num_thresholds: int = 127) -> None:
        if num_thresholds < 2:
            raise ValueError(f"num_thresholds must be at least 2, got {num_thresholds}")
        self.num_thresholds = num_thresholds

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        cells = getattr(pl_module, "validation_cells", None)
        writer = _tensorboard(trainer)
        if not _should_write(trainer) or writer is None or not cells or cells["scores"].numel() == 0:
            return
        labels = cells["labels"].numpy() > 0.5
        scores = cells["scores"].numpy()
        step = trainer.global_step
        writer.add_pr_curve("val/pr_curve", labels, scores, step, num_thresholds=self.num_thresholds)
        writer.add_pr_curve(
            "val/pr_curve_weighted", labels, scores, step, num_thresholds=self.num_thresholds, weights=cells["weights"].numpy()
        )


class EventDisplayLogger(Callback):
    """Draw a few fixed validation tracks after each validation epoch, as TensorBoard images.

    Each image (``val/event_display/<n>``) shows the cells of one cloud in
    (Δeta, Δphi) around the track, one row per layer group, coloured by
    truth, by the model's assignment and by outcome, with the focus track's
    layer intersections marked (:func:`pflow_geo.evaluation.displays.plot_event_display`).
    The clouds are chosen once, by :func:`select_display_clouds`, so the
    images of successive epochs show the same tracks.

    Args:
        num_displays: Number of tracks drawn; 0 turns the displays off.
        min_cells: Minimum number of cells of a displayed cloud.
    """

    def __init__(self, num_displays: int = 3, min_cells: int = 10) -> None:
        if num_displays < 0:
            raise ValueError(f"num_displays must be >= 0, got {num_displays}")
        self.num_displays = num_displays
        self.min_cells = min_cells
        self._clouds: list[Data] | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = _tensorboard(trainer)
        if not _should_write(trainer) or writer is None or self.num_displays == 0:
            return
        if self._clouds is None:
            dataset = getattr(trainer.datamodule, "val_dataset", None) if trainer.datamodule is not None else None
            if dataset is None:
                log.warning("event displays are off: the trainer has no datamodule with a val_dataset")
                self._clouds = []
            else:
                self._clouds = [dataset[index] for index in select_display_clouds(dataset, self.num_displays, self.min_cells)]
        if not self._clouds:
            return

        from ..evaluation.displays import DisplayedTrack, plot_event_display
        from ..evaluation.predictions import build_table
        from ..evaluation.tracks import summarize_tracks

        probabilities = _predict(pl_module, self._clouds)
        try:
            table = build_table(self._clouds, {"model": probabilities})
        except ValueError as error:  # NaN or infinite outputs of a diverged model
            log.warning("event displays of step %d skipped: %s", trainer.global_step, error)
            return
        threshold = float(getattr(pl_module, "threshold", 0.5))
        summary = summarize_tracks(table, "model", threshold)
        for number, cloud in enumerate(self._clouds):
            key = (int(cloud.event_number), int(cloud.entry), int(cloud.track_index))
            row = _track_row(summary, key)
            track = DisplayedTrack(*key, reason=f"display {number}", residual=float(summary.residual[row]))
            figure = plot_event_display(table, track, "model", threshold)
            writer.add_figure(f"val/event_display/{number}", figure, trainer.global_step, close=True)


def select_display_clouds(
    dataset: Sequence[Data], num_displays: int, min_cells: int = 10, max_scanned: int = 2000
) -> list[int]:
    """Pick ``num_displays`` cloud indices spread evenly over the clouds with both cell labels.

    Candidates are among the first ``max_scanned`` clouds and have at least
    ``min_cells`` cells, some labelled 1 and some 0. When fewer than
    ``num_displays`` exist, clouds with any cell fill up.
    """
    mixed, others = [], []
    for index in range(min(len(dataset), max_scanned)):
        cloud = dataset[index]
        cells = cloud.category == Category.CELL
        num_cells = int(cells.sum())
        if num_cells == 0:
            continue
        labels = cloud.y[cells]
        if num_cells >= min_cells and bool((labels > 0.5).any()) and bool((labels < 0.5).any()):
            mixed.append(index)
        else:
            others.append(index)
    if len(mixed) > num_displays:
        positions = np.linspace(0, len(mixed) - 1, num_displays).round().astype(int)
        return [mixed[position] for position in positions]
    return mixed + others[: num_displays - len(mixed)]


@torch.no_grad()
def _predict(pl_module: pl.LightningModule, clouds: list[Data]) -> list[torch.Tensor]:
    was_training = pl_module.training
    pl_module.eval()
    try:
        batch = Batch.from_data_list(clouds).to(pl_module.device)
        probabilities = torch.sigmoid(pl_module(batch)).float().cpu()
    finally:
        pl_module.train(was_training)
    return list(probabilities.split(batch.ptr.diff().tolist()))


def _track_row(summary: Any, key: tuple[int, int, int]) -> int:
    rows = np.flatnonzero(
        (summary.event_number == key[0]) & (summary.entry == key[1]) & (summary.track_index == key[2])
    )
    return int(rows[0])


class FinalHyperparametersLogger(Callback):
    """Write the run's hyperparameters with its final validation figures to TensorBoard's HPARAMS tab.

    At the end of fitting, the model and data hyperparameters (data ones
    prefixed ``data/``) are written with these figures as ``final/...``
    scalars: every ``val/...`` figure of the last validation epoch,
    ``final/best_val/f1_weighted`` (the best checkpoint's monitored value)
    and ``final/epochs`` (epochs trained). The logger should be built with
    ``default_hp_metric=False``; otherwise TensorBoard also shows the
    placeholder ``hp_metric`` that Lightning writes at the start.
    """

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = next((logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)), None)
        if logger is None or not trainer.is_global_zero:
            return
        figures = {f"final/{name}": value for name, value in getattr(pl_module, "validation_figures", {}).items()}
        checkpoint = next((callback for callback in trainer.callbacks if isinstance(callback, ModelCheckpoint)), None)
        if checkpoint is not None and checkpoint.best_model_score is not None and checkpoint.monitor:
            figures[f"final/best_{checkpoint.monitor}"] = float(checkpoint.best_model_score)
        figures["final/epochs"] = trainer.current_epoch
        figures = {name: value for name, value in figures.items() if not (isinstance(value, float) and math.isnan(value))}

        # Names starting with "_" are Lightning's bookkeeping (e.g. _instantiator), not hyperparameters.
        params = {name: value for name, value in pl_module.hparams.items() if not name.startswith("_")}
        if trainer.datamodule is not None:
            data = trainer.datamodule.hparams
            params.update({f"data/{name}": value for name, value in data.items() if not name.startswith("_")})
        logger.log_hyperparams(params, metrics=figures, step=trainer.global_step)
