"""Run a simulation: events in chunks, optionally on worker processes, written in event order."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..io.writer import MLTreeWriter
from .branches import assemble_branches
from .config import SimulationConfig
from .detector import get_detector
from .event import simulate_event
from .particles import PROCESSES

__all__ = ["simulate", "simulate_chunk"]

log = logging.getLogger(__name__)


def simulate_chunk(process: str, seed: int, start: int, stop: int, config: SimulationConfig) -> dict[str, Any]:
    """Simulate events ``start`` to ``stop - 1`` and return their ``EventTree`` branches."""
    detector = get_detector(config.noise_scale)
    records = [simulate_event(process, seed, index, config, detector) for index in range(start, stop)]
    return assemble_branches(records, process, config.run_number)


def simulate(
    process: str,
    num_events: int,
    seed: int,
    output: str | os.PathLike[str],
    workers: int = 1,
    *,
    progress: bool = False,
    **config: Any,
) -> Path:
    """Simulate events and write them, with the cell geometry, to one MLTree ROOT file.

    The content depends only on ``process``, ``num_events``, ``seed`` and the
    settings, not on ``workers``: every event has its own random stream and
    chunks are written in event order.

    Args:
        process: One of ``rho``, ``pion``, ``photon``, ``pi0``, ``electron``, ``jet``.
        num_events: Number of events (at least 1).
        seed: Run seed (non-negative integer).
        output: Output ROOT file; written as ``<output>.part`` and renamed when complete.
        workers: Number of processes generating chunks in parallel.
        progress: Show a progress bar on stderr.
        **config: Settings of :class:`~pflow_geo.simulation.config.SimulationConfig`.

    Returns:
        The path of the written file.

    Raises:
        ValueError: For an unknown process or setting, or a non-positive event count, seed or worker count.
    """
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}; choose one of {', '.join(PROCESSES)}")
    if num_events < 1:
        raise ValueError(f"num_events must be at least 1, got {num_events}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    settings = SimulationConfig.from_kwargs(**config)
    output = Path(output)
    if not output.parent.is_dir():
        raise ValueError(f"output directory {output.parent} does not exist; create it first")

    from tqdm.auto import tqdm

    started = time.perf_counter()
    detector = get_detector(settings.noise_scale)
    chunks = [(start, min(start + settings.chunk_size, num_events)) for start in range(0, num_events, settings.chunk_size)]
    log.info("simulating %d %s events (seed %d) in %d chunk(s) on %d worker(s) into %s", num_events, process, seed, len(chunks), workers, output)

    with MLTreeWriter(output) as writer, tqdm(total=num_events, unit="event", desc=f"simulate {process}", disable=not progress) as bar:
        writer.write_cell_geo(detector.cell_geo())
        if workers == 1:
            for start, stop in chunks:
                writer.extend(simulate_chunk(process, seed, start, stop, settings))
                bar.update(stop - start)
        else:
            _run_parallel(process, seed, settings, chunks, workers, writer, bar)

    elapsed = time.perf_counter() - started
    log.info("wrote %d events to %s in %.1f s (%.1f events/s)", num_events, output, elapsed, num_events / elapsed)
    return output


def _run_parallel(process: str, seed: int, settings: SimulationConfig, chunks: list, workers: int, writer: MLTreeWriter, bar) -> None:
    """Generate chunks on worker processes and write them in order, with at most 2 chunks per worker in flight."""
    pending: deque[tuple[Future, int]] = deque()
    remaining = iter(chunks)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        def submit() -> None:
            chunk = next(remaining, None)
            if chunk is not None:
                start, stop = chunk
                pending.append((pool.submit(simulate_chunk, process, seed, start, stop, settings), stop - start))

        for _ in range(2 * workers):
            submit()
        while pending:
            future, size = pending.popleft()
            writer.extend(future.result())
            bar.update(size)
            submit()
