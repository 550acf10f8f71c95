"""Processing summary of a point-cloud dataset: what was kept, what was skipped and why, and cloud sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .builder import SKIP_REASONS
from .fields import Category
from .padding import TruncationStats, pad_columns
from .processing import MANIFEST, load_shard
from .storage import Columns

__all__ = ["summarize_processed", "format_summary"]


def summarize_processed(processed_dir: str | Path, max_points: int | None = None) -> dict:
    """Summarise a processed dataset over all splits.

    Args:
        processed_dir: The directory holding ``manifest.json`` and the shards.
        max_points: When given, also count what padding to this size would cut.

    Returns:
        A JSON-serialisable dictionary with the manifest statistics, the
        distribution of points per cloud (mean, median, 95th percentile, max),
        the energy-weighted fraction of cells labelled 1, and the truncation
        counts for ``max_points``.
    """
    processed_dir = Path(processed_dir)
    manifest = json.loads((processed_dir / MANIFEST).read_text())
    sizes = []
    label_energy = 0.0
    cell_energy = 0.0
    num_cells = 0
    truncation = TruncationStats(max_points=max_points) if max_points else None
    for name in manifest["shards"]:
        shard = load_shard(processed_dir / name)
        columns = Columns(shard["points"], shard["clouds"], shard["ptr"])
        sizes.append(columns.sizes.numpy())
        is_cell = columns.points["category"] == int(Category.CELL)
        weight = columns.points["weight"].double()
        cell_energy += float(weight[is_cell].sum())
        label_energy += float((weight * columns.points["y"].double())[is_cell].sum())
        num_cells += int(is_cell.sum())
        if truncation is not None:
            category_column = manifest["feature_names"].index("category")
            _, part = pad_columns(columns, max_points, category_column)
            for field in ("clouds", "clouds_truncated", "points_cut", "cells_cut", "energy_cut_gev", "energy_total_gev"):
                setattr(truncation, field, getattr(truncation, field) + getattr(part, field))

    sizes = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
    stats = manifest["stats"]
    summary = {
        "processed_dir": str(processed_dir),
        "events_read": stats.get("events_read", 0),
        "events_kept": stats.get("events_kept", 0),
        "reader_skipped": stats.get("reader_skipped", {}),
        "reader_corrected": stats.get("reader_corrected", {}),
        "tracks_seen": stats.get("tracks_seen", 0),
        "tracks_kept": int(len(sizes)),
        "tracks_skipped": {
            SKIP_REASONS[key].format(**manifest["cloud_config"]): value for key, value in stats.get("tracks_skipped", {}).items()
        },
        "tracks_pre_filtered": stats.get("tracks_pre_filtered", 0),
        "cells": num_cells,
        "cells_without_truth": stats.get("cells_without_truth", 0),
        "points_per_cloud": _distribution(sizes),
        "label_1_energy_fraction": label_energy / cell_energy if cell_energy > 0 else float("nan"),
    }
    if truncation is not None:
        summary["truncation"] = truncation.to_dict()
    return summary


def _distribution(sizes: np.ndarray) -> dict:
    if len(sizes) == 0:
        return {"mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0}
    return {
        "mean": float(sizes.mean()),
        "median": float(np.median(sizes)),
        "p95": float(np.percentile(sizes, 95)),
        "max": int(sizes.max()),
    }


def format_summary(summary: dict) -> str:
    """Format a summary from :func:`summarize_processed` as aligned text lines."""
    points = summary["points_per_cloud"]
    lines = [
        f"processed data:        {summary['processed_dir']}",
        f"events read / kept:    {summary['events_read']} / {summary['events_kept']}",
    ]
    for reason, count in summary["reader_skipped"].items():
        lines.append(f"  skipped by reader:   {count} {reason}")
    for reason, count in summary["reader_corrected"].items():
        lines.append(f"  corrected by reader: {count} {reason}")
    lines.append(f"tracks seen / kept:    {summary['tracks_seen']} / {summary['tracks_kept']}")
    for reason, count in summary["tracks_skipped"].items():
        lines.append(f"  skipped:             {count} {reason}")
    if summary["tracks_pre_filtered"]:
        lines.append(f"  removed by pre_filter: {summary['tracks_pre_filtered']}")
    lines += [
        f"cells in clouds:       {summary['cells']} ({summary['cells_without_truth']} without positive truth energy, labelled 0)",
        f"points per cloud:      mean {points['mean']:.1f}, median {points['median']:.0f}, "
        f"95th percentile {points['p95']:.0f}, max {points['max']}",
        f"energy-weighted fraction of cells labelled 1: {summary['label_1_energy_fraction']:.4f}",
    ]
    truncation = summary.get("truncation")
    if truncation:
        share = truncation["energy_cut_gev"] / truncation["energy_total_gev"] if truncation["energy_total_gev"] else 0.0
        lines.append(
            f"padding to {truncation['max_points']} points: {truncation['clouds_truncated']} of {truncation['clouds']} clouds cut, "
            f"{truncation['points_cut']} points ({truncation['cells_cut']} cells, {truncation['energy_cut_gev']:.4g} GeV, "
            f"{100 * share:.3f} % of the cell energy) removed"
        )
    return "\n".join(lines)
