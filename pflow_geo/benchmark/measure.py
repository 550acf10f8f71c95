"""Measurements of the architecture benchmark: peak memory, training time per epoch and inference latency."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from torch_geometric.data import Batch, Data

__all__ = ["PeakMemory", "TrainingClock", "cpu_model", "measure_latency", "median_ms", "memory_method", "synchronize"]

log = logging.getLogger(__name__)

_MIB = 1024.0**2
_PROC_STATUS = "/proc/self/status"
_PROC_CLEAR_REFS = "/proc/self/clear_refs"

# Method names stored with every memory figure.
CUDA_METHOD = "cuda_max_memory_allocated"
RSS_METHOD = "rss_peak_increase"
RSS_UNRESETTABLE_METHOD = "rss_peak_increase_since_start"


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued kernels, so that a clock read after this covers them (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def memory_method(device: torch.device) -> str:
    """Return how :class:`PeakMemory` measures on ``device``.

    ``cuda_max_memory_allocated``: ``torch.cuda.max_memory_allocated`` over
    the block, which includes the weights and optimizer state on the GPU.
    ``rss_peak_increase``: the process's peak resident set size during the
    block minus its resident set size at the start, on Linux, where the
    kernel's peak (``VmHWM``) can be reset through ``/proc/self/clear_refs``.
    ``rss_peak_increase_since_start``: elsewhere, the peak since the process
    started, which hides a block whose peak is below an earlier one.
    """
    if device.type == "cuda":
        return CUDA_METHOD
    return RSS_METHOD if _can_reset_rss_peak() else RSS_UNRESETTABLE_METHOD


class PeakMemory(AbstractContextManager):
    """Measure the peak memory of a block of code on ``device``; see :func:`memory_method`.

    On the CPU, the C allocator is first asked to return freed memory to the
    system (``malloc_trim`` on glibc), so that memory freed by earlier work
    and reused inside the block still counts as an increase.

    Example:
        >>> with PeakMemory(torch.device("cpu")) as memory:  # doctest: +SKIP
        ...     train()
        >>> memory.peak_mib  # doctest: +SKIP

    Attributes:
        method: How the figure is measured (see :func:`memory_method`).
        peak_bytes: The peak, in bytes, once the block has ended.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = torch.device(device)
        self.method = memory_method(self.device)
        self.peak_bytes: float = float("nan")
        self._baseline = 0

    @property
    def peak_mib(self) -> float:
        """The peak in MiB (NaN until the block has ended)."""
        return self.peak_bytes / _MIB

    def __enter__(self) -> PeakMemory:
        if self.method == CUDA_METHOD:
            synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        _trim_c_heap()
        if self.method == RSS_METHOD:
            with open(_PROC_CLEAR_REFS, "w", encoding="ascii") as handle:
                # 5 resets the peak resident set size to the current one.
                handle.write("5")
        self._baseline = _current_rss_bytes()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.method == CUDA_METHOD:
            synchronize(self.device)
            self.peak_bytes = float(torch.cuda.max_memory_allocated(self.device))
        else:
            self.peak_bytes = float(max(0, _peak_rss_bytes() - self._baseline))


class TrainingClock(Callback):
    """Record the seconds and clouds of every training epoch, and optionally of every batch.

    An epoch's time runs from ``on_train_epoch_start`` to
    ``on_train_epoch_end``, so it covers data loading, the optimizer steps
    and the module's end-of-epoch metrics, but not validation when the
    trainer runs none. An epoch cut short by ``max_time`` is recorded with
    the clouds it trained on.

    Args:
        time_batches: Also record each batch's seconds, with a device
            synchronization after each batch (slower on GPUs).
        label: Name of the run in the log line written after each epoch;
            no log line when None.

    Attributes:
        epoch_seconds: Seconds of each epoch.
        epoch_clouds: Clouds trained on in each epoch.
        batch_seconds: Seconds of each batch, with ``time_batches``.
    """

    def __init__(self, time_batches: bool = False, label: str | None = None) -> None:
        self.time_batches = time_batches
        self.label = label
        self.epoch_seconds: list[float] = []
        self.epoch_clouds: list[int] = []
        self.batch_seconds: list[float] = []
        self._epoch_start: float | None = None
        self._batch_start = 0.0
        self._clouds = 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        synchronize(pl_module.device)
        self._clouds = 0
        self._epoch_start = time.perf_counter()

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        if self.time_batches:
            synchronize(pl_module.device)
            self._batch_start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._clouds += int(batch.num_graphs)
        if self.time_batches:
            synchronize(pl_module.device)
            self.batch_seconds.append(time.perf_counter() - self._batch_start)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close_epoch(pl_module.device)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Closes an epoch whose on_train_epoch_end did not run, in case a stop inside the epoch skips that hook.
        self._close_epoch(pl_module.device)

    def _close_epoch(self, device: torch.device) -> None:
        if self._epoch_start is None:
            return
        synchronize(device)
        self.epoch_seconds.append(time.perf_counter() - self._epoch_start)
        self.epoch_clouds.append(self._clouds)
        self._epoch_start = None
        if self.label is not None:
            log.info(
                "%s: training epoch %d took %.1f s (%d clouds)", self.label, len(self.epoch_seconds), self.epoch_seconds[-1], self._clouds
            )

    def throughput(self) -> float:
        """Return training clouds per second, leaving out the first epoch (warm-up) when more than one ran."""
        first = 1 if len(self.epoch_seconds) > 1 else 0
        seconds = sum(self.epoch_seconds[first:])
        clouds = sum(self.epoch_clouds[first:])
        return clouds / seconds if seconds > 0 else float("nan")


@torch.inference_mode()
def measure_latency(
    model: Callable[[Batch], torch.Tensor],
    clouds: Sequence[Data],
    batch_size: int,
    device: torch.device,
    *,
    warmup: int = 3,
    repeats: int = 20,
    forward_context: Callable[[], AbstractContextManager] | None = None,
) -> list[float]:
    """Time forward passes on batches of ``batch_size`` clouds and return the seconds per cloud of each pass.

    Batch ``j`` contains clouds ``j * batch_size`` to ``(j + 1) * batch_size - 1``,
    counted around ``clouds`` cyclically, so the passes use different clouds
    until all were used. Batches are collated and moved to ``device`` before
    the clock starts, and the device is synchronized around each timed pass.
    The caller puts the model in eval mode.

    Args:
        model: Returns one logit per point of a batch.
        clouds: The clouds to draw batches from (at least one).
        batch_size: Clouds per forward pass.
        device: Device of the model.
        warmup: Untimed passes before the timed ones.
        repeats: Timed passes.
        forward_context: Factory of the context each pass runs in, e.g. the
            autocast of the training precision; none when None.

    Raises:
        ValueError: For an empty ``clouds``, or ``batch_size`` or ``repeats`` below 1.
    """
    if not clouds:
        raise ValueError("measure_latency needs at least one cloud")
    if batch_size < 1 or repeats < 1:
        raise ValueError(f"batch_size and repeats must be at least 1, got {batch_size} and {repeats}")
    context = forward_context or nullcontext
    num_batches = warmup + repeats
    batches = []
    for j in range(num_batches):
        members = [clouds[(j * batch_size + i) % len(clouds)] for i in range(batch_size)]
        batches.append(Batch.from_data_list(members).to(device))

    seconds_per_cloud = []
    for j, batch in enumerate(batches):
        synchronize(device)
        start = time.perf_counter()
        with context():
            model(batch)
        synchronize(device)
        if j >= warmup:
            seconds_per_cloud.append((time.perf_counter() - start) / batch_size)
    return seconds_per_cloud


def median_ms(seconds: Sequence[float]) -> float:
    """Return the median of ``seconds`` in milliseconds."""
    return 1e3 * statistics.median(seconds)


# ---------------------------------------------------------------------- resident set size
def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or `platform.processor()` where that file is missing."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _can_reset_rss_peak() -> bool:
    return os.path.exists(_PROC_STATUS) and os.access(_PROC_CLEAR_REFS, os.W_OK)


def _status_kib(field: str) -> int | None:
    with open(_PROC_STATUS, encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _current_rss_bytes() -> int:
    if os.path.exists(_PROC_STATUS):
        value = _status_kib("VmRSS")
        if value is not None:
            return value * 1024
    import psutil

    return int(psutil.Process().memory_info().rss)


def _peak_rss_bytes() -> int:
    if os.path.exists(_PROC_STATUS):
        value = _status_kib("VmHWM")
        if value is not None:
            return value * 1024
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _trim_c_heap() -> None:
    library = ctypes.util.find_library("c")
    if library is None:
        return
    try:
        malloc_trim = ctypes.CDLL(library).malloc_trim
    except (OSError, AttributeError):
        return  # not glibc
    malloc_trim(0)
