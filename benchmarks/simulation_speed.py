"""Measure the simulation speed (events per second per core) and peak memory against the number of events.

Each configuration runs in a fresh Python process, which simulates events
with ``workers=1`` (noise, topo-clustering, splitting and writing included)
and reports its CPU time, wall time and resident memory. The detector is
built before the clock starts; its build time and memory peak are printed
separately, and the peak while simulating is measured after resetting the
kernel's counter (Linux only). CPU time is the fair per-core figure on a
shared machine; wall time is shown next to it.

Usage:
    python benchmarks/simulation_speed.py [--events 250 500 1000] [--chunk-size 250] [--process rho]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, resource, sys, time
from pflow_geo.simulation import simulate
from pflow_geo.simulation.detector import get_detector

def resident_mib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024.0

process, events, chunk_size, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
started = time.perf_counter()
get_detector(1.0)
build = time.perf_counter() - started
build_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
before = resident_mib("VmRSS:")
# Writing 5 to clear_refs resets the kernel's peak-RSS counter (VmHWM), so the
# peak below covers the simulation only.
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
cpu, wall = time.process_time(), time.perf_counter()
simulate(process, events, 1, path, chunk_size=chunk_size)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"build": build, "cpu": cpu, "wall": wall, "build_peak": build_peak, "before": before, "peak": resident_mib("VmHWM:")}))
"""


def run(process: str, events: int, chunk_size: int) -> dict:
    """Simulate in a fresh process and return its timings (s) and peak RSS (MiB)."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "speed.root")
        output = subprocess.run([sys.executable, "-c", _CHILD, process, str(events), str(chunk_size), path], check=True, capture_output=True, text=True)
        result = json.loads(output.stdout.strip().splitlines()[-1])
        result["size"] = os.path.getsize(path) / 2**20
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[250, 500, 1000], help="event counts to measure (default: %(default)s)")
    parser.add_argument("--chunk-size", type=int, default=250, help="events per chunk (default: %(default)s)")
    parser.add_argument("--process", default="rho", help="process to simulate (default: %(default)s)")
    args = parser.parse_args(argv)

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    print(f"process: {args.process}, chunk size {args.chunk_size}, 1 worker")
    print("| events | events/s per core (CPU time) | events/s (wall) | RSS before [MiB] | peak RSS while simulating [MiB] | file [MiB] | detector build [s], peak RSS [MiB] |")
    print("|---|---|---|---|---|---|---|")
    for events in args.events:
        result = run(args.process, events, args.chunk_size)
        print(
            f"| {events} | {events / result['cpu']:.1f} | {events / result['wall']:.1f} | {result['before']:.0f} | {result['peak']:.0f} | "
            f"{result['size']:.1f} | {result['build']:.1f}, {result['build_peak']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
