"""``TrackCloudDataset``: per-track point clouds from MLTree files as a PyG ``InMemoryDataset``."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.data.separate import separate

from .builder import CloudConfig
from .padding import TruncationStats, pad_columns
from .processing import FORMAT_VERSION, MANIFEST, ReaderOptions, load_shard, process_files
from .splits import SPLITS, assign_splits, check_fractions
from .storage import Columns, concat_columns, to_inmemory

__all__ = ["TrackCloudDataset", "DEFAULT_SAMPLE"]

log = logging.getLogger(__name__)

# The built-in data: a simulated single-rho sample written to <root>/raw when
# the dataset is created without input files.
DEFAULT_SAMPLE = {"process": "rho", "num_events": 2000, "seed": 1, "file_name": "rho_default.root"}


class TrackCloudDataset(InMemoryDataset):
    r"""Point clouds around each charged track, for cell-to-track segmentation.

    Every track with a truth match and at least one calorimeter-layer
    intersection gets a cloud. The cloud contains the points within
    ``delta_r`` of the track's reference direction, which is its EMB2
    intersection, else EME2, else the nearest crossed layer. Those points are
    the track's own layer intersections (category 0), the clustered
    calorimeter cells (category 1) and the other tracks' intersections
    (category 2). Each cell is labelled 1 when more than half of
    its truth energy comes from the track's truth particle. The fields of each
    ``Data`` object are described in :mod:`pflow_geo.datasets.fields`.

    Processing runs once per set of options: the processed files live in
    ``<root>/processed/<hash>/``, where the hash covers the input files (path,
    size, modification time) and every option that changes the clouds, so a
    changed option never serves stale data. The split, ``padded`` and
    ``max_points`` are applied when loading and need no re-processing.

    Args:
        root: Directory for ``raw/`` and ``processed/``.
        files: MLTree files to read. When omitted, the ``.root`` files in
            ``<root>/raw`` are used, and when that is empty a simulated
            single-rho sample (``DEFAULT_SAMPLE``) is written there first.
        split: ``"train"``, ``"val"`` or ``"test"``; events are assigned by
            event number, so no event has tracks in two splits.
        split_fractions: Fractions of events in (train, val, test).
        split_seed: Seed of the event-to-split assignment.
        delta_r: Cone size around the track.
        features: Optional feature columns (see ``OPTIONAL_FEATURES``).
        min_cells: Tracks with fewer cells in the cone are skipped.
        padded: Return clouds of exactly ``max_points`` points, padded with
            category -1 points of zero weight; too long clouds lose their
            farthest cells first, and the cut is counted in ``truncation``.
        max_points: Cloud size in padded mode.
        cell_geo: Separate file with the ``CellGeo`` tree, if the inputs lack it.
        truth_energy_unit: Unit of ``cluster_cell_hitsTruthE`` in the inputs.
        workers: Processes used for processing.
        step_size: Events per processing unit; bounds each worker's memory.
        transform, pre_transform, pre_filter, force_reload, log: As in PyG's
            ``InMemoryDataset``. ``pre_transform`` and ``pre_filter`` are part
            of the processed-data hash through their ``repr``.

    Example:
        >>> from pflow_geo.datasets import TrackCloudDataset
        >>> train = TrackCloudDataset("data/rho", files=["rho.root"], split="train")  # doctest: +SKIP
        >>> train[0]  # doctest: +SKIP
        Data(x=[57, 6], pos=[57, 3], category=[57], y=[57], weight=[57], ...)
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        files: Sequence[str | os.PathLike[str]] | None = None,
        split: str = "train",
        *,
        split_fractions: Sequence[float] = (0.7, 0.15, 0.15),
        split_seed: int = 0,
        delta_r: float = 0.2,
        features: Sequence[str] = (),
        min_cells: int = 1,
        padded: bool = False,
        max_points: int = 800,
        cell_geo: str | os.PathLike[str] | None = None,
        truth_energy_unit: str = "MeV",
        workers: int = 1,
        step_size: int = 1000,
        transform: Callable | None = None,
        pre_transform: Callable | None = None,
        pre_filter: Callable | None = None,
        force_reload: bool = False,
        log: bool = True,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if padded and max_points < 1:
            raise ValueError(f"max_points must be at least 1, got {max_points}")
        self.split = split
        self.split_fractions = check_fractions(split_fractions)
        self.split_seed = int(split_seed)
        self.cloud_config = CloudConfig(delta_r=delta_r, features=tuple(features), min_cells=min_cells)
        self.padded = padded
        self.max_points = int(max_points)
        self.reader_options = ReaderOptions(
            cell_geo=os.fspath(Path(cell_geo).resolve()) if cell_geo is not None else None,
            truth_energy_unit=truth_energy_unit,
        )
        self.workers = workers
        self.step_size = step_size
        self._files = [os.fspath(Path(f).resolve()) for f in files] if files is not None else None
        self._root = os.fspath(root)
        self.truncation: TruncationStats | None = None
        self._content_hash: str | None = None
        super().__init__(root, transform, pre_transform, pre_filter, log=log, force_reload=force_reload)
        self._load_split()

    @property
    def raw_file_names(self) -> list[str]:
        if self._files is not None:
            return self._files
        raw_dir = Path(self._root) / "raw"
        existing = sorted(p.name for p in raw_dir.glob("*.root")) if raw_dir.is_dir() else []
        return existing or [DEFAULT_SAMPLE["file_name"]]

    @property
    def processed_dir(self) -> str:
        return os.path.join(self._root, "processed", self.content_hash)

    @property
    def processed_file_names(self) -> list[str]:
        return [MANIFEST]

    def download(self) -> None:
        """Write the built-in simulated single-rho sample into ``raw/``."""
        if self._files is not None:
            missing = [f for f in self._files if not os.path.exists(f)]
            raise FileNotFoundError(f"input file(s) not found: {', '.join(missing)}")
        from ..simulation import simulate

        output = Path(self.raw_dir) / DEFAULT_SAMPLE["file_name"]
        log.info("no input files given: simulating the default sample into %s", output)
        simulate(DEFAULT_SAMPLE["process"], DEFAULT_SAMPLE["num_events"], DEFAULT_SAMPLE["seed"], output, workers=self.workers)

    def _process(self) -> None:
        # Replaces Dataset._process, which also writes pre_transform.pt and
        # pre_filter.pt and unpickles them with weights_only=False; here their
        # repr is part of the processed-directory hash instead.
        processed = Path(self.processed_dir)
        if self.force_reload and processed.exists():
            shutil.rmtree(processed)
        if (processed / MANIFEST).exists():
            return
        processed.mkdir(parents=True, exist_ok=True)
        self.process()

    def process(self) -> None:
        process_files(
            self.raw_paths,
            self.processed_dir,
            self.cloud_config,
            self.reader_options,
            step_size=self.step_size,
            workers=self.workers,
            pre_filter=self.pre_filter,
            pre_transform=self.pre_transform,
            progress=self.log,
        )

    @property
    def content_hash(self) -> str:
        """Hash of everything that changes the processed clouds (16 hex digits).

        Computed on first use, after the raw files exist, and then kept, so
        the dataset keeps pointing at the data it loaded even if an input file
        changes later.
        """
        if self._content_hash is None:
            self._content_hash = self._compute_content_hash()
        return self._content_hash

    def _compute_content_hash(self) -> str:
        identity = {
            "format_version": FORMAT_VERSION,
            "cloud_config": self.cloud_config.to_dict(),
            "reader": {
                "cell_geo": _file_identity(self.reader_options.cell_geo) if self.reader_options.cell_geo else None,
                "truth_energy_unit": self.reader_options.truth_energy_unit,
            },
            "files": [_file_identity(path) for path in self.raw_paths],
            "pre_transform": repr(self.pre_transform),
            "pre_filter": repr(self.pre_filter),
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def manifest(self) -> dict:
        """The processing manifest: options, shards and summed statistics."""
        return json.loads((Path(self.processed_dir) / MANIFEST).read_text())

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the columns of ``data.x``."""
        return self.cloud_config.feature_names

    def _load_split(self) -> None:
        split_index = SPLITS.index(self.split)
        parts = []
        for name in self.manifest["shards"]:
            shard = load_shard(Path(self.processed_dir) / name)
            columns = Columns(shard["points"], shard["clouds"], shard["ptr"])
            in_split = assign_splits(columns.clouds["event_number"].numpy(), self.split_fractions, self.split_seed) == split_index
            parts.append(columns.select(torch.from_numpy(in_split)))
        columns = concat_columns(parts) if parts else None
        if columns is None or columns.num_clouds == 0:
            log.warning("split %r of %s contains no clouds", self.split, self.processed_dir)
        if columns is None:
            raise RuntimeError(f"{self.processed_dir}: the manifest lists no shards; the input files hold no events")
        if self.padded:
            columns, self.truncation = pad_columns(columns, self.max_points, self.feature_names.index("category"))
            if self.truncation.clouds_truncated:
                log.warning(
                    "padding to %d points cut %d points (%d cells, %.3g GeV of %.3g GeV) from %d of %d clouds",
                    self.max_points,
                    self.truncation.points_cut,
                    self.truncation.cells_cut,
                    self.truncation.energy_cut_gev,
                    self.truncation.energy_total_gev,
                    self.truncation.clouds_truncated,
                    self.truncation.clouds,
                )
        self.num_points = columns.sizes.clone()
        self.data, self.slices = to_inmemory(columns.widened())

    def get(self, idx: int) -> Data:
        # Unlike InMemoryDataset.get, no per-index copy is cached, so memory
        # does not grow as an epoch touches every cloud.
        return separate(cls=Data, batch=self._data, idx=idx, slice_dict=self.slices, decrement=False)

    def __repr__(self) -> str:
        mode = f", padded={self.max_points}" if self.padded else ""
        return f"{self.__class__.__name__}({len(self)}, split={self.split!r}{mode})"


def _file_identity(path: str) -> dict:
    stat = os.stat(path) if os.path.exists(path) else None
    return {
        "path": os.fspath(Path(path).resolve()),
        "size": stat.st_size if stat else None,
        "mtime_ns": stat.st_mtime_ns if stat else None,
    }
