"""Test helpers: a callback that interrupts a run, and readers of TensorBoard event files."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


class StopAfterEpoch(Callback):
    """Stop training at the end of epoch ``epoch`` (0-based), as an interruption would."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            trainer.should_stop = True


def load_events(run_dir: Path) -> EventAccumulator:
    """Load every scalar, image and tensor of the event files in ``run_dir``."""
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def scalar_values(accumulator: EventAccumulator, tag: str) -> list[float]:
    """Return the values of one scalar tag in step order."""
    return [event.value for event in accumulator.Scalars(tag)]
