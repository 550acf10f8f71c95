"""Parallel, resumable conversion of MLTree files into point-cloud shards.

The input is cut into work units of at most ``step_size`` events of one file.
Each unit is read, turned into clouds and written as one shard file under its
final name only when complete, so an interrupted run resumes from the shards
already on disk. Peak memory per worker is set by ``step_size``, not by the
size of the dataset. A ``manifest.json`` written at the end lists the shards
and the processing summary; its presence marks the dataset as complete.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io.cellgeo import CellGeometry, read_cell_geometry
from ..io.reader import MLTreeReader
from ..io.summary import ReadSummary
from .builder import CloudBlock, CloudConfig, build_clouds

__all__ = ["WorkUnit", "ReaderOptions", "plan_work", "process_files", "load_shard", "MANIFEST", "FORMAT_VERSION"]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# Bump when the shard layout or the meaning of a column changes, so that old
# processed data is never served.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ReaderOptions:
    """Options passed to :class:`MLTreeReader` in every worker.

    Attributes:
        cell_geo: Separate file holding ``CellGeo``, or None to read it from each input file.
        truth_energy_unit: Unit of ``cluster_cell_hitsTruthE`` in the input ("MeV" or "GeV").
        check_units: Whether the reader checks the energy units of each file.
    """

    cell_geo: str | None = None
    truth_energy_unit: str = "MeV"
    check_units: bool = True


@dataclass(frozen=True)
class WorkUnit:
    """Events ``[entry_start, entry_stop)`` of input file number ``file_index``."""

    file_index: int
    path: str
    entry_start: int
    entry_stop: int

    @property
    def shard_name(self) -> str:
        return f"shard-{self.file_index:04d}-{self.entry_start:010d}-{self.entry_stop:010d}.pt"


def plan_work(files: Sequence[str | os.PathLike[str]], step_size: int, reader_options: ReaderOptions = ReaderOptions()) -> list[WorkUnit]:
    """Cut the input files into work units of at most ``step_size`` events.

    Every file is opened with the reader, so a missing file, tree or branch
    is reported before any processing starts.
    """
    units = []
    for file_index, path in enumerate(files):
        num_events = _reader_for(os.fspath(path), reader_options).num_events
        if num_events == 0:
            log.warning("%s: EventTree has no entries", path)
        for start in range(0, num_events, step_size):
            units.append(WorkUnit(file_index, os.fspath(path), start, min(start + step_size, num_events)))
    return units


# Each process keeps its last reader (and a separate geometry file) open, so
# that consecutive units of the same file skip re-opening it and re-reading
# CellGeo, which costs more than converting a chunk of single-particle events.
_OPEN_READERS: dict[tuple[str, ReaderOptions], MLTreeReader] = {}
_GEOMETRY_CACHE: dict[str, CellGeometry] = {}


def _reader_for(path: str, options: ReaderOptions) -> MLTreeReader:
    """Return an open reader for ``path`` with a fresh summary, reusing this process's last one."""
    key = (path, options)
    reader = _OPEN_READERS.get(key)
    if reader is None:
        close_cached_readers()
        geometry = None
        if options.cell_geo is not None:
            geometry = _GEOMETRY_CACHE.get(options.cell_geo)
            if geometry is None:
                _GEOMETRY_CACHE.clear()
                geometry = _GEOMETRY_CACHE[options.cell_geo] = read_cell_geometry(options.cell_geo)
        reader = MLTreeReader(
            path,
            geometry,
            truth_energy_unit=options.truth_energy_unit,  # type: ignore[arg-type]
            check_units=options.check_units,
        )
        _OPEN_READERS[key] = reader
    reader.summary = ReadSummary()
    return reader


def close_cached_readers() -> None:
    """Close the reader kept open by this process, if any."""
    for reader in _OPEN_READERS.values():
        reader.close()
    _OPEN_READERS.clear()


def _process_unit(
    unit: WorkUnit,
    output_dir: str,
    cloud_config: CloudConfig,
    reader_options: ReaderOptions,
    pre_filter: Callable | None,
    pre_transform: Callable | None,
) -> dict:
    """Read one unit, build its clouds and write its shard. Returns the unit's statistics."""
    reader = _reader_for(unit.path, reader_options)
    chunk = reader.read(unit.entry_start, unit.entry_stop)
    block = build_clouds(chunk, cloud_config)
    read_summary = reader.summary.to_dict()

    filtered = 0
    if pre_filter is not None or pre_transform is not None:
        block, filtered = _apply_user_hooks(block, pre_filter, pre_transform)

    stats = {
        "events_read": read_summary["events_read"],
        "events_kept": read_summary["events_kept"],
        "reader_skipped": read_summary["skipped"],
        "reader_corrected": read_summary["corrected"],
        "tracks_seen": block.tracks_seen,
        "tracks_skipped": dict(block.skipped),
        "tracks_pre_filtered": filtered,
        "cells_without_truth": block.cells_without_truth,
        "clouds": block.num_clouds,
    }
    shard = {
        "format_version": FORMAT_VERSION,
        "file_index": unit.file_index,
        "points": {name: torch.from_numpy(np.ascontiguousarray(values)) for name, values in block.points.items()},
        "clouds": {name: torch.from_numpy(np.ascontiguousarray(values)) for name, values in block.clouds.items()},
        "ptr": torch.from_numpy(block.ptr),
    }
    # The statistics go next to the shard so the manifest can be written
    # without loading every shard; the shard is renamed last and marks the unit done.
    shard_path = Path(output_dir) / unit.shard_name
    _atomic_write_text(shard_path.with_suffix(".json"), json.dumps(stats))
    _atomic_torch_save(shard, shard_path)
    return stats


def _apply_user_hooks(block: CloudBlock, pre_filter: Callable | None, pre_transform: Callable | None) -> tuple[CloudBlock, int]:
    """Run PyG-style ``pre_filter``/``pre_transform`` on each cloud and re-pack the survivors into columns."""
    from .storage import columns_to_data_list, data_list_to_columns

    data_list = columns_to_data_list(block.points, block.clouds, block.ptr)
    kept = [data for data in data_list if pre_filter is None or pre_filter(data)]
    if pre_transform is not None:
        kept = [pre_transform(data) for data in kept]
    points, clouds, ptr = data_list_to_columns(kept, block.points, block.clouds)
    return CloudBlock(points, clouds, ptr, block.skipped, block.cells_without_truth, block.tracks_seen), len(data_list) - len(kept)


def _atomic_torch_save(obj: Any, path: Path) -> None:
    temporary = path.with_name(path.name + ".part")
    torch.save(obj, temporary)
    os.replace(temporary, path)


def _atomic_write_text(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(text)
    os.replace(temporary, path)


def load_shard(path: str | os.PathLike[str]) -> dict:
    """Load a shard written by :func:`process_files` (tensors and plain types only, ``weights_only=True``)."""
    shard = torch.load(path, map_location="cpu", weights_only=True)
    if shard.get("format_version") != FORMAT_VERSION:
        raise RuntimeError(f"{path}: shard format {shard.get('format_version')} differs from {FORMAT_VERSION}; process the data again")
    return shard


def process_files(
    files: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    cloud_config: CloudConfig,
    reader_options: ReaderOptions = ReaderOptions(),
    *,
    step_size: int = 1000,
    workers: int = 1,
    pre_filter: Callable | None = None,
    pre_transform: Callable | None = None,
    progress: bool = True,
) -> dict:
    """Convert MLTree files into point-cloud shards in ``output_dir`` and write the manifest.

    Shards already present (from an interrupted run) are kept and not
    recomputed. ``pre_filter`` and ``pre_transform`` must be picklable when
    ``workers > 1``.

    Returns:
        The manifest: options, shard names and the summed processing statistics.
    """
    from tqdm.auto import tqdm

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        units = plan_work(files, step_size, reader_options)
        todo = [unit for unit in units if not (output_dir / unit.shard_name).exists()]
        if len(todo) < len(units):
            log.info("resuming: %d of %d shards already done in %s", len(units) - len(todo), len(units), output_dir)

        arguments = (os.fspath(output_dir), cloud_config, reader_options, pre_filter, pre_transform)
        bar = tqdm(total=len(todo), desc="processing", unit="shard", disable=not progress)
        if workers > 1 and len(todo) > 1:
            # Forked workers must not inherit the open file handles of this process.
            close_cached_readers()
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(_process_unit, unit, *arguments) for unit in todo]
                for future in futures:
                    future.result()
                    bar.update()
        else:
            for unit in todo:
                _process_unit(unit, *arguments)
                bar.update()
        bar.close()
    finally:
        close_cached_readers()

    totals = _sum_stats((output_dir / unit.shard_name).with_suffix(".json").read_text() for unit in units)
    manifest = {
        "format_version": FORMAT_VERSION,
        "files": [os.fspath(path) for path in files],
        "cloud_config": cloud_config.to_dict(),
        "feature_names": list(cloud_config.feature_names),
        "shards": [unit.shard_name for unit in units],
        "stats": totals,
    }
    _atomic_write_text(output_dir / MANIFEST, json.dumps(manifest, indent=2))
    return manifest


def _sum_stats(stats_json: Any) -> dict:
    totals: dict[str, Any] = {}
    for text in stats_json:
        for key, value in json.loads(text).items():
            if isinstance(value, dict):
                totals.setdefault(key, Counter()).update(value)
            else:
                totals[key] = totals.get(key, 0) + value
    return {key: dict(value) if isinstance(value, Counter) else value for key, value in totals.items()}
