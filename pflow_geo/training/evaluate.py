"""Evaluate a checkpoint and the baselines on one split: the work behind ``pflow-geo evaluate``.

The model and the baselines of :mod:`pflow_geo.evaluation.baselines`
(always 1, always 0, the ΔR cone and the cell subtraction, the last two
fitted on the training split) are run on the same clouds, gathered into
one prediction table, and scored with
:func:`pflow_geo.evaluation.scores.headline_scores`, so the figures match
those of the evaluation report.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch_geometric.data import Batch

from ..devices import resolve_device
from .checkpoints import data_options, load_module, read_checkpoint
from .datamodule import PointCloudDataModule, fixed_batches

__all__ = ["Evaluation", "evaluate_checkpoint", "format_table", "MODEL_METHOD"]

log = logging.getLogger(__name__)

MODEL_METHOD = "model"

# Columns of the printed table: (heading, key of headline_scores).
_TABLE_COLUMNS = (
    ("F1(E)", "weighted_f1"),
    ("acc(E)", "weighted_accuracy"),
    ("prec(E)", "weighted_precision"),
    ("rec(E)", "weighted_recall"),
    ("AUC(E)", "weighted_roc_auc"),
    ("F1", "f1"),
    ("acc", "accuracy"),
    ("prec", "precision"),
    ("rec", "recall"),
    ("AUC", "roc_auc"),
)


@dataclass
class Evaluation:
    """The outcome of :func:`evaluate_checkpoint`.

    Attributes:
        metrics: The ``metrics.json`` content: the checkpoint, split, data
            root, threshold, cloud and cell counts, and per method the
            figures of :func:`~pflow_geo.evaluation.scores.headline_scores`.
        table: The per-cell prediction table with one ``prob_<method>``
            column per method.
    """

    metrics: dict[str, Any]
    table: pa.Table


def evaluate_checkpoint(
    checkpoint_path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    files: list[str] | None = None,
    split: str = "test",
    threshold: float | None = None,
    device: str = "auto",
    max_points_per_batch: int | None = None,
) -> Evaluation:
    """Run the checkpoint's model and the baselines on one split and score them.

    Args:
        checkpoint_path: A checkpoint of ``pflow-geo train``.
        root: Dataset directory; the training run's when None.
        files: MLTree input files; the training run's when None.
        split: ``train``, ``val`` or ``test``.
        threshold: Probability above which a cell counts as assigned; the
            model's when None.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        max_points_per_batch: Point budget of the model's batches; the
            training run's batching when None.

    Raises:
        FileNotFoundError: If the checkpoint is missing.
        UsageError: A ValueError, if ``device`` is invalid or not on this machine.
        ValueError: If the checkpoint cannot be read or the split has no cell.
    """
    from ..evaluation.baselines import fit_baselines
    from ..evaluation.predictions import build_table
    from ..evaluation.scores import headline_scores

    torch_device = resolve_device(device)
    checkpoint = read_checkpoint(checkpoint_path)
    module = load_module(checkpoint)
    options = data_options(checkpoint)
    if root is not None:
        options["root"] = os.fspath(root)
    if files is not None:
        options["files"] = list(files)
    if max_points_per_batch is not None:
        options["max_points_per_batch"] = max_points_per_batch
    data = PointCloudDataModule(**options)
    if tuple(data.feature_names) != tuple(module.feature_names):
        raise ValueError(
            f"the data has the feature columns {data.feature_names} but the model expects {module.feature_names}; "
            "evaluate on data processed with the training run's features"
        )
    threshold = float(module.threshold if threshold is None else threshold)

    clouds_dataset = data.dataset(split)
    clouds = [clouds_dataset[index] for index in range(len(clouds_dataset))]
    log.info("evaluating %s on %d %s clouds of %s", checkpoint_path, len(clouds), split, clouds_dataset.processed_dir)
    probabilities = predict_probabilities(
        module, clouds, clouds_dataset.num_points, data.batch_size, data.max_points_per_batch, torch_device
    )

    train = data.dataset("train")
    baselines = fit_baselines(train[index] for index in range(len(train)))
    methods = {MODEL_METHOD: probabilities, **baselines.predict(clouds)}
    table = build_table(clouds, methods)
    if table.num_rows == 0:
        raise ValueError(f"the {split} split of {clouds_dataset.processed_dir} has no cells to evaluate")

    metrics = {
        "checkpoint": os.fspath(checkpoint_path),
        "epoch": checkpoint.get("epoch"),
        "split": split,
        "root": options.get("root"),
        "threshold": threshold,
        "num_clouds": len(clouds),
        "num_cells": table.num_rows,
        "methods": {method: headline_scores(table, method, threshold) for method in methods},
    }
    return Evaluation(metrics=metrics, table=table)


@torch.no_grad()
def predict_probabilities(
    module: torch.nn.Module,
    clouds: list,
    num_points: torch.Tensor,
    batch_size: int,
    max_points_per_batch: int | None,
    device: torch.device,
) -> list[torch.Tensor]:
    """Return the model's probability for every point, one CPU tensor per cloud, in cloud order."""
    module = module.to(device).eval()
    outputs: list[torch.Tensor] = []
    for indices in fixed_batches(num_points, batch_size, max_points_per_batch):
        batch = Batch.from_data_list([clouds[index] for index in indices]).to(device)
        probabilities = torch.sigmoid(module(batch)).float().cpu()
        outputs.extend(probabilities.split(batch.ptr.diff().tolist()))
    return outputs


def write_metrics(metrics: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write the metrics as JSON, with NaN written as null."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(_json_safe(metrics), handle, indent=2)
        handle.write("\n")


def format_table(metrics: dict[str, Any]) -> str:
    """Format the figures of every method as a text table; (E) marks energy-weighted figures."""
    methods = metrics["methods"]
    width = max(len("method"), *(len(name) for name in methods))
    header = "method".ljust(width) + "".join(f"{heading:>9}" for heading, _ in _TABLE_COLUMNS)
    lines = [
        f"{metrics['split']} split: {metrics['num_clouds']} tracks, {metrics['num_cells']} cells, threshold {metrics['threshold']}",
        header,
        "-" * len(header),
    ]
    for method, figures in methods.items():
        cells = "".join(f"{_format(figures.get(key)):>9}" for _, key in _TABLE_COLUMNS)
        lines.append(method.ljust(width) + cells)
    lines.append("(E): weighted by |cell energy|; AUC: area under the ROC curve, n/a when one class has no weight")
    return "\n".join(lines)


def _format(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}"


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
