"""Measure point-cloud processing speed against the time uproot needs to read the same branches.

Usage:
    python benchmarks/process_speed.py --process rho --events 2000
    python benchmarks/process_speed.py --input my_mltree.root

Without --input, a file is simulated first (not timed). Everything runs in one
process, so the rates are per core. Printed figures:

* read only: uproot reading the CellGeo branches and, chunk by chunk, the
  EventTree branches that the reader uses;
* reader: MLTreeReader (read, validate, merge shared cells, join CellGeo);
* build: the point-cloud builder on the reader's chunks;
* process: the whole `process_files` run, shards written to disk;
* the ratio of process time to read-only time.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import awkward as ak
import uproot

from pflow_geo.benchmark.measure import cpu_model
from pflow_geo.datasets.builder import CloudConfig, build_clouds
from pflow_geo.datasets.processing import process_files
from pflow_geo.io import schema
from pflow_geo.io.reader import MLTreeReader


# The CellGeo branches the reader uses; read-only time includes them, since
# processing cannot start without the cell positions.
_GEOMETRY_BRANCHES_READ = {
    *schema.REQUIRED_GEO_BRANCHES,
    schema.GEO_RPERP,
    *schema.GEO_XYZ,
    *schema.GEO_NOISE,
    *schema.GEO_OPTIONAL,
    *schema.GEO_NEIGHBOURS,
}


def _time(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def measure(path: Path, step_size: int, workdir: Path) -> dict:
    """Time each stage on ``path``; returns the figures as a dictionary."""
    reader = MLTreeReader(path, step_size=step_size)
    branches = list(reader.branches)
    geometry_branches = [name for name in uproot.open(path)["CellGeo"].keys(recursive=False) if name in _GEOMETRY_BRANCHES_READ]
    num_events = reader.num_events
    reader.close()

    def read_only() -> int:
        file = uproot.open(path)
        file["CellGeo"].arrays(geometry_branches)
        tree = file["EventTree"]
        for start in range(0, num_events, step_size):
            tree.arrays(branches, entry_start=start, entry_stop=min(start + step_size, num_events))
        return num_events

    def read_with_reader() -> list:
        with MLTreeReader(path, step_size=step_size) as r:
            return list(r)

    read_seconds, _ = _time(read_only)
    reader_seconds, chunks = _time(read_with_reader)
    config = CloudConfig()
    build_seconds, blocks = _time(lambda: [build_clouds(chunk, config) for chunk in chunks])
    num_tracks = sum(int(ak.sum(ak.num(chunk.tracks, axis=1))) for chunk in chunks)
    num_clouds = sum(block.num_clouds for block in blocks)
    process_seconds, _ = _time(lambda: process_files([path], workdir / "processed", config, step_size=step_size, progress=False))
    return {
        "file": str(path),
        "events": num_events,
        "tracks": num_tracks,
        "clouds": num_clouds,
        "step_size": step_size,
        "read_only_s": read_seconds,
        "reader_s": reader_seconds,
        "build_s": build_seconds,
        "process_s": process_seconds,
        "events_per_s": num_events / process_seconds,
        "tracks_per_s": num_tracks / process_seconds,
        "process_over_read": process_seconds / read_seconds,
        "machine": f"{platform.machine()}, {cpu_model()}, Python {platform.python_version()}",
    }


def median_figures(runs: list[dict]) -> dict:
    """Combine repeated measurements: the median of every timing, rates recomputed from the median process time."""
    figures = dict(runs[0])
    for stage in ("read_only_s", "reader_s", "build_s", "process_s"):
        figures[stage] = statistics.median(run[stage] for run in runs)
    figures["events_per_s"] = figures["events"] / figures["process_s"]
    figures["tracks_per_s"] = figures["tracks"] / figures["process_s"]
    figures["process_over_read"] = figures["process_s"] / figures["read_only_s"]
    figures["repeats"] = len(runs)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, help="MLTree file to process; simulated when omitted")
    parser.add_argument("--process", default="rho", help="simulated process when --input is omitted (default: rho)")
    parser.add_argument("--events", type=int, default=2000, help="simulated events when --input is omitted (default: 2000)")
    parser.add_argument("--seed", type=int, default=1, help="simulation seed (default: 1)")
    parser.add_argument("--step-size", type=int, default=1000, help="events per chunk (default: 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per stage; the median is reported (default: 3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = args.input
        if path is None:
            from pflow_geo.simulation import simulate

            path = workdir / f"{args.process}.root"
            simulate(args.process, args.events, args.seed, path)
        runs = [measure(path, args.step_size, workdir / f"run{index}") for index in range(args.repeat)]
        figures = median_figures(runs)

    print(f"file: {figures['file']} ({figures['events']} events, {figures['tracks']} tracks, {figures['clouds']} clouds)")
    print(f"machine: {figures['machine']}, one process, median of {figures['repeats']} runs")
    print("| stage | seconds |")
    print("|---|---|")
    for stage in ("read_only", "reader", "build", "process"):
        print(f"| {stage.replace('_', ' ')} | {figures[stage + '_s']:.2f} |")
    print(f"events per second per core: {figures['events_per_s']:.0f}")
    print(f"tracks per second per core: {figures['tracks_per_s']:.0f}")
    print(f"process time / read-only time: {figures['process_over_read']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
