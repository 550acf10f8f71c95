"""TrackCloudDataset: splits, content hash, resume, padded mode and loaders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pflow_geo.datasets import TrackCloudDataset
from pflow_geo.datasets import processing
from pflow_geo.datasets.builder import CloudConfig
from pflow_geo.datasets.fields import Category
from pflow_geo.datasets.loaders import PointBudgetBatchSampler, make_dataloader
from pflow_geo.datasets.splits import assign_splits
from pflow_geo.datasets.summary import summarize_processed

from .fixtures import write_many_events, write_two_event_file

EVERYTHING = dict(split_fractions=(1.0, 0.0, 0.0))


class SimulatedCrash(Exception):
    """Stands in for a killed processing run."""


@pytest.fixture
def two_events(tmp_path) -> Path:
    return write_two_event_file(tmp_path / "two.root")


@pytest.fixture
def many_events(tmp_path) -> Path:
    return write_many_events(tmp_path / "many.root", 60)


def test_dataset_data_fields(two_events, tmp_path):
    dataset = TrackCloudDataset(tmp_path / "ds", files=[two_events], log=False, **EVERYTHING)
    assert len(dataset) == 3
    data = dataset[0]
    assert data.x.shape == (9, 6)
    assert data.pos.shape == (9, 3)
    assert data.category.dtype == torch.int64
    assert data.category.tolist() == [0, 0, 1, 1, 1, 1, 1, 2, 2]
    assert data.y.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert data.event_number.tolist() == [100]
    assert data.track_index.tolist() == [0]
    assert dataset.feature_names == ("x", "y", "z", "category", "energy", "distance")


def test_dataset_padded_matches_variable_size(two_events, tmp_path):
    variable = TrackCloudDataset(tmp_path / "ds", files=[two_events], log=False, **EVERYTHING)
    padded = TrackCloudDataset(tmp_path / "ds", files=[two_events], padded=True, max_points=12, log=False, **EVERYTHING)
    assert padded.processed_dir == variable.processed_dir
    assert padded.truncation.clouds_truncated == 0
    assert padded.truncation.points_cut == 0
    for i in range(len(variable)):
        small, big = variable[i], padded[i]
        n = small.num_nodes
        assert big.num_nodes == 12
        for name in ("x", "pos", "category", "y", "weight", "frac_focus", "cell_id", "layer", "delta_r"):
            assert torch.equal(big[name][:n], small[name]), name
        assert big.category[n:].tolist() == [int(Category.PADDING)] * (12 - n)
        assert big.weight[n:].abs().sum() == 0
        assert big.x[n:, 3].tolist() == [-1.0] * (12 - n)
        assert big.event_number.tolist() == small.event_number.tolist()


def test_dataset_padded_cuts_farthest_cells_first(two_events, tmp_path):
    padded = TrackCloudDataset(tmp_path / "ds", files=[two_events], padded=True, max_points=7, log=False, **EVERYTHING)
    # Cloud 0 has 2 focus points, cells A B F C E (delta R 0, 0.071, 0.028, 0.112, 0.170) and 2 track points.
    stats = padded.truncation
    assert stats.clouds_truncated == 2
    assert stats.points_cut == 2 + 1
    assert stats.cells_cut == 2 + 1
    # Cut: cloud 0 loses E (0.8 GeV) and C (0.3 GeV); cloud 1 loses its farthest cell, A (2.0 GeV, delta R 0.141).
    assert stats.energy_cut_gev == pytest.approx(0.8 + 0.3 + 2.0)
    assert padded[0].cell_id.tolist() == [-1, -1, 11, 12, 16, -1, -1]
    assert padded[0].category.tolist() == [0, 0, 1, 1, 1, 2, 2]


def test_split_keeps_events_whole(many_events, tmp_path):
    seen = {}
    for split in ("train", "val", "test"):
        dataset = TrackCloudDataset(tmp_path / "ds", files=[many_events], split=split, split_fractions=(0.5, 0.25, 0.25), log=False)
        for event in dataset._data.event_number.tolist():
            seen.setdefault(event, set()).add(split)
    assert set(seen) == set(range(60))
    assert all(len(splits) == 1 for splits in seen.values())
    counts = {s: sum(1 for v in seen.values() if s in v) for s in ("train", "val", "test")}
    assert all(count > 0 for count in counts.values())


def test_assign_splits_is_stable_and_seeded():
    events = np.arange(10_000)
    first = assign_splits(events, (0.6, 0.2, 0.2), seed=3)
    assert np.array_equal(first, assign_splits(events, (0.6, 0.2, 0.2), seed=3))
    assert not np.array_equal(first, assign_splits(events, (0.6, 0.2, 0.2), seed=4))
    # The subset of an event's assignment does not depend on the other events.
    assert np.array_equal(first[::7], assign_splits(events[::7], (0.6, 0.2, 0.2), seed=3))
    fractions = np.bincount(first, minlength=3) / len(events)
    assert fractions == pytest.approx([0.6, 0.2, 0.2], abs=0.02)


def test_assign_splits_rejects_bad_fractions():
    with pytest.raises(ValueError, match="summing to 1"):
        assign_splits(np.arange(3), (0.5, 0.5, 0.5))


def test_changed_option_reprocesses(two_events, tmp_path):
    base = TrackCloudDataset(tmp_path / "ds", files=[two_events], log=False, **EVERYTHING)
    wider = TrackCloudDataset(tmp_path / "ds", files=[two_events], delta_r=0.4, log=False, **EVERYTHING)
    featured = TrackCloudDataset(tmp_path / "ds", files=[two_events], features=("layer",), log=False, **EVERYTHING)
    resplit = TrackCloudDataset(tmp_path / "ds", files=[two_events], split_fractions=(0.5, 0.25, 0.25), split_seed=9, log=False)
    assert len({base.processed_dir, wider.processed_dir, featured.processed_dir}) == 3
    assert resplit.processed_dir == base.processed_dir
    # Cell D (delta R 0.4 from track 0) only enters the wider cone.
    assert 14 not in base._data.cell_id.tolist()
    assert 14 in wider._data.cell_id.tolist()
    assert featured[0].x.shape[1] == 7
    assert json.loads((Path(wider.processed_dir) / "manifest.json").read_text())["cloud_config"]["delta_r"] == 0.4


def test_changed_input_file_reprocesses(tmp_path):
    path = write_many_events(tmp_path / "events.root", 3)
    first = TrackCloudDataset(tmp_path / "ds", files=[path], log=False, **EVERYTHING)
    write_many_events(path, 5)
    second = TrackCloudDataset(tmp_path / "ds", files=[path], log=False, **EVERYTHING)
    assert second.processed_dir != first.processed_dir
    assert len(second) == 5 * 2


def test_force_reload_discards_shards(two_events, tmp_path):
    dataset = TrackCloudDataset(tmp_path / "ds", files=[two_events], log=False, **EVERYTHING)
    marker = Path(dataset.processed_dir) / "stale.txt"
    marker.write_text("x")
    TrackCloudDataset(tmp_path / "ds", files=[two_events], force_reload=True, log=False, **EVERYTHING)
    assert not marker.exists()


def test_interrupted_processing_resumes(many_events, tmp_path, monkeypatch):
    output = tmp_path / "shards"
    config = CloudConfig()
    real_build = processing.build_clouds
    calls = []

    def failing_build(chunk, cloud_config):
        calls.append(int(chunk.entry[0]))
        if len(calls) == 3:
            raise SimulatedCrash("worker killed")
        return real_build(chunk, cloud_config)

    monkeypatch.setattr(processing, "build_clouds", failing_build)
    with pytest.raises(SimulatedCrash):
        processing.process_files([many_events], output, config, step_size=20, progress=False)
    assert sorted(p.name for p in output.glob("shard-*.pt")) == [
        "shard-0000-0000000000-0000000020.pt",
        "shard-0000-0000000020-0000000040.pt",
    ]
    assert not (output / "manifest.json").exists()
    assert not list(output.glob("*.part"))

    calls.clear()
    manifest = processing.process_files([many_events], output, config, step_size=20, progress=False)
    assert calls == [40]
    assert manifest["stats"]["events_read"] == 60
    assert manifest["stats"]["clouds"] == 120

    monkeypatch.setattr(processing, "build_clouds", real_build)
    fresh = processing.process_files([many_events], tmp_path / "fresh", config, step_size=20, progress=False)
    for name in fresh["shards"]:
        resumed = processing.load_shard(output / name)
        clean = processing.load_shard(tmp_path / "fresh" / name)
        for column in clean["points"]:
            assert torch.equal(resumed["points"][column], clean["points"][column])


def test_parallel_processing_matches_serial(many_events, tmp_path):
    serial = processing.process_files([many_events], tmp_path / "serial", CloudConfig(), step_size=15, progress=False)
    parallel = processing.process_files([many_events], tmp_path / "parallel", CloudConfig(), step_size=15, workers=2, progress=False)
    assert serial["shards"] == parallel["shards"]
    assert serial["stats"] == parallel["stats"]
    for name in serial["shards"]:
        a = processing.load_shard(tmp_path / "serial" / name)
        b = processing.load_shard(tmp_path / "parallel" / name)
        assert torch.equal(a["points"]["x"], b["points"]["x"])


def test_shards_load_with_weights_only(two_events, tmp_path):
    dataset = TrackCloudDataset(tmp_path / "ds", files=[two_events], log=False, **EVERYTHING)
    shard = Path(dataset.processed_dir) / dataset.manifest["shards"][0]
    loaded = torch.load(shard, weights_only=True)
    assert set(loaded) == {"format_version", "file_index", "points", "clouds", "ptr"}


def test_missing_input_file_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.root"):
        TrackCloudDataset(tmp_path / "ds", files=[tmp_path / "nothere.root"], log=False)


def test_summary_counts(two_events, tmp_path):
    dataset = TrackCloudDataset(tmp_path / "ds", files=[two_events], log=False, **EVERYTHING)
    summary = summarize_processed(dataset.processed_dir, max_points=7)
    assert summary["events_read"] == 2
    assert summary["tracks_seen"] == 6
    assert summary["tracks_kept"] == 3
    assert summary["tracks_skipped"]["tracks with no truth match"] == 1
    assert summary["points_per_cloud"]["max"] == 9
    # Label-1 cells: A in cloud 0 (2.0 GeV), E in cloud 1 (0.8 GeV), G in cloud 2 (1.0 GeV).
    cell_energy = (2.0 + 0.5 + 0.05 + 0.3 + 0.8) + (2.0 + 0.5 + 0.05 + 0.8) + 1.0
    assert summary["label_1_energy_fraction"] == pytest.approx((2.0 + 0.8 + 1.0) / cell_energy, rel=1e-6)
    assert summary["truncation"]["points_cut"] == 3


def test_point_budget_sampler_respects_budget():
    sizes = [5, 3, 9, 2, 2, 12, 1]
    sampler = PointBudgetBatchSampler(sizes, max_points=10, shuffle=True, seed=1)
    batches = list(sampler)
    assert sorted(i for batch in batches for i in batch) == list(range(len(sizes)))
    for batch in batches:
        assert sum(sizes[i] for i in batch) <= 10 or len(batch) == 1
    assert len(sampler) == len(batches)
    sampler.set_epoch(1)
    assert list(sampler) != batches or len(batches) == 1


def test_point_budget_sampler_splits_ranks_evenly():
    sizes = [4] * 11
    ranks = [list(PointBudgetBatchSampler(sizes, 8, shuffle=False, num_replicas=2, rank=r)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 3
    covered = {i for batches in ranks for batch in batches for i in batch}
    assert covered == set(range(11))


def test_make_dataloader_point_budget(many_events, tmp_path):
    dataset = TrackCloudDataset(tmp_path / "ds", files=[many_events], log=False, **EVERYTHING)
    loader = make_dataloader(dataset, max_points_per_batch=40, shuffle=True)
    total = 0
    for batch in loader:
        assert batch.num_nodes <= 40 or batch.num_graphs == 1
        total += batch.num_graphs
    assert total == len(dataset)
    fixed = make_dataloader(dataset, batch_size=7)
    first = next(iter(fixed))
    assert first.num_graphs == 7
    assert first.event_number.shape == (7,)
