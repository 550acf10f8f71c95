"""Train every registered model on the same data under the same budget and measure it: the work behind ``pflow-geo benchmark``.

Each model is built from its ``configs/<model>.yaml`` by the parser of
``pflow-geo train`` (:class:`~pflow_geo.training.cli.TrainingCLI` with
``run=False``), so the benchmark trains the same
:class:`~pflow_geo.training.SegmentationModule` (loss, optimizer, schedule,
metrics) on the same :class:`~pflow_geo.training.PointCloudDataModule` as
the entry point does. The benchmark overrides only the data files, the seed,
the device and the budget. Its own :class:`lightning.pytorch.Trainer` keeps the
config's precision, gradient clipping and gradient accumulation, and runs
without logger, checkpoints, early stopping or per-epoch validation, so
every model trains for exactly the budget.

After training, every row is measured the same way:

* validation figures of :mod:`pflow_geo.metrics` on the final weights;
* training throughput: clouds per second of the training epochs, the first
  left out as warm-up when more than one ran;
* inference latency per cloud: the median over repeated forward passes in
  eval mode at batch sizes 1 and 64, after warm-up passes;
* peak memory of training and of the batch-64 passes
  (:class:`~pflow_geo.benchmark.measure.PeakMemory`).

By default every row runs in a fresh process (``spawn``), so that no row
inherits memory, caches or allocator state from the one before.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import multiprocessing
import os
import platform
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch

from ..devices import resolve_device
from . import PROCESSES
from .measure import PeakMemory, TrainingClock, cpu_model, measure_latency, median_ms, memory_method

__all__ = [
    "Budget",
    "BenchmarkSettings",
    "ModelRun",
    "LATENCY_BATCH_SIZES",
    "PROCESSES",
    "default_config_dir",
    "describe_machine",
    "prepare_input",
    "run_benchmark",
    "run_model",
]

log = logging.getLogger(__name__)

# Batch sizes of the latency columns, in clouds per forward pass.
LATENCY_BATCH_SIZES = (1, 64)
# Settings of the config's `trainer` section that change what a training step computes.
KEPT_TRAINER_SETTINGS = ("precision", "gradient_clip_val", "gradient_clip_algorithm", "accumulate_grad_batches", "deterministic")
# Loggers whose levels a row's process copies from the caller's.
_CHILD_LOGGERS = ("", "pflow_geo", "lightning.pytorch", "lightning.fabric")
# Training batches timed to plan the epochs of a wall-time budget; the first is left out as warm-up.
PROBE_BATCHES = 4


@dataclass(frozen=True)
class Budget:
    """How long each model trains: a number of epochs, or a wall-time limit in seconds.

    With ``seconds``, a short probe on a copy of the model times a few
    training batches. The run then gets as many whole epochs as fit in the
    limit by that estimate (at least 1), so that the learning-rate schedule
    spans the run. Lightning's ``max_time`` stops training at the
    limit if the estimate was too low.

    Attributes:
        epochs: Training epochs.
        seconds: Wall-time limit of training, in seconds.
    """

    epochs: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if (self.epochs is None) == (self.seconds is None):
            raise ValueError(f"set exactly one of epochs and seconds, got epochs={self.epochs} and seconds={self.seconds}")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be positive, got {self.seconds}")

    def describe(self) -> str:
        """Return the budget in words, e.g. ``3 epochs`` or ``180 s of training``."""
        if self.epochs is not None:
            return f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        return f"{self.seconds:g} s of training"


@dataclass(frozen=True)
class ModelRun:
    """One row of the benchmark: which config to train, how, and how to measure it.

    Attributes:
        label: Name of the row, e.g. ``pointnet`` or ``pointnet (padded 800)``.
        model_name: Registered model name.
        config: Path of the model's YAML config.
        cli_args: Arguments after ``--config`` for :class:`TrainingCLI`.
        budget: Training budget.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        padded: Whether the clouds are padded to a fixed size.
        latency_warmup: Untimed forward passes before the timed ones.
        latency_repeats: Timed forward passes per batch size.
        threads: Intra-op threads of torch on the CPU (``torch.set_num_threads``);
            torch's default when None.
    """

    label: str
    model_name: str
    config: str
    cli_args: tuple[str, ...]
    budget: Budget
    device: str
    padded: bool = False
    latency_warmup: int = 3
    latency_repeats: int = 20
    threads: int | None = None


@dataclass
class BenchmarkSettings:
    """Everything a benchmark run depends on.

    Attributes:
        budget: Training budget of every model.
        process: Simulated process (``rho`` or ``jet``) when ``files`` is None.
        events: Number of simulated events.
        seed: Seed of the simulation, of every model's initialization
            (``seed_everything``) and of the training order.
        models: Registered model names to train; all of them when None.
        root: Dataset directory; the simulated file goes to ``<root>/raw``.
        files: MLTree files to use in place of simulated data.
        include_padded: Add a PointNet row on clouds padded to ``max_points``.
        max_points: Cloud size of the padded row.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        config_dir: Folder with one ``<model>.yaml`` per model.
        hparam_overrides: Per model name, model hyperparameters that replace
            the config's (e.g. smaller widths for tests).
        extra_cli_args: Further :class:`TrainingCLI` arguments for every row,
            e.g. ``["--data.max_points_per_batch", "500"]``.
        isolate: Run each row in a fresh process.
        latency_warmup: Untimed forward passes before the timed ones.
        latency_repeats: Timed forward passes per batch size.
        workers: Processes for simulating and processing the data.
        threads: Intra-op threads of torch on the CPU while a row trains and
            is measured; torch's default when None. On a CPU shared with
            other busy processes, more threads than free cores make small
            operations wait on descheduled threads, and 1 gives steadier
            figures.
        command: The command line that started the run, for the report.
    """

    budget: Budget
    process: str | None = "rho"
    events: int = 2000
    seed: int = 0
    models: Sequence[str] | None = None
    root: str = "data/benchmark"
    files: Sequence[str] | None = None
    include_padded: bool = False
    max_points: int = 800
    device: str = "auto"
    config_dir: str | None = None
    hparam_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra_cli_args: Sequence[str] = ()
    isolate: bool = True
    latency_warmup: int = 3
    latency_repeats: int = 20
    workers: int = 1
    threads: int | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        if self.files is None and self.process not in PROCESSES:
            raise ValueError(f"unknown process {self.process!r}; choose one of {', '.join(PROCESSES)} or give input files")
        if self.events < 1:
            raise ValueError(f"events must be at least 1, got {self.events}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if self.max_points < 1:
            raise ValueError(f"max_points must be at least 1, got {self.max_points}")
        if self.latency_repeats < 1 or self.latency_warmup < 0:
            raise ValueError(
                f"latency_repeats must be at least 1 and latency_warmup at least 0, got {self.latency_repeats} and {self.latency_warmup}"
            )
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")


def default_config_dir() -> Path:
    """Return the ``configs/`` folder of the source checkout, else ``./configs``."""
    checkout = Path(__file__).resolve().parents[2] / "configs"
    return checkout if checkout.is_dir() else Path("configs")


def prepare_input(process: str, events: int, seed: int, root: str | os.PathLike[str], workers: int = 1) -> Path:
    """Return the simulated MLTree file ``<root>/raw/<process>_<events>ev_seed<seed>.root``, simulating it if missing.

    The simulator writes to a ``.part`` file and renames it when complete, so
    an existing file is a complete one and is reused.
    """
    path = Path(root) / "raw" / f"{process}_{events}ev_seed{seed}.root"
    if path.exists():
        log.info("reusing simulated data %s", path)
        return path
    from ..simulation import simulate

    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("simulating %d %s events into %s", events, process, path)
    simulate(process, events, seed, path, workers=workers)
    return path


def run_benchmark(settings: BenchmarkSettings) -> dict[str, Any]:
    """Prepare the data, train and measure every row, and return the results.

    Returns:
        A dictionary with ``command``, ``settings``, ``machine``, ``dataset``
        (clouds per split, points per cloud, the simulated or given files)
        and ``rows``, one dictionary per row as :func:`run_model` returns it.
        A row that failed has an ``error`` message instead of figures.

    Raises:
        ValueError: For an unknown model name or device.
        FileNotFoundError: For a missing model config.
    """
    from ..models import available_models

    names = list(settings.models) if settings.models else available_models()
    unknown = sorted(set(names) - set(available_models()))
    if unknown:
        raise ValueError(f"unknown models {unknown}; available: {', '.join(available_models())}")
    config_dir = Path(settings.config_dir) if settings.config_dir else default_config_dir()
    configs = {name: config_dir / f"{name}.yaml" for name in names}
    missing = [str(path) for path in configs.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"config file(s) not found: {', '.join(missing)}; pass the folder of the model configs")
    device = resolve_device(settings.device)

    if settings.files is not None:
        files = [os.fspath(Path(path).resolve()) for path in settings.files]
    else:
        files = [os.fspath(prepare_input(settings.process, settings.events, settings.seed, settings.root, settings.workers).resolve())]
    base_args = _base_cli_args(settings, files, device)

    runs = [_model_run(settings, name, configs[name], base_args, device) for name in names]
    # Process the data once here, so that no row times or repeats it.
    dataset = _summarize_dataset(runs[0])
    if settings.include_padded:
        padded_run, padded_summary = _padded_pointnet_run(settings, config_dir / "pointnet.yaml", base_args, device)
        runs.append(padded_run)
        dataset["padded"] = padded_summary

    machine = describe_machine(device)
    if settings.threads is not None:
        machine["torch_threads"] = settings.threads
    rows = []
    for index, run in enumerate(runs, start=1):
        log.info("benchmark row %d/%d: %s, %s on %s", index, len(runs), run.label, run.budget.describe(), run.device)
        try:
            row = _execute(run, settings.isolate)
        except Exception as error:  # noqa: BLE001 - one failing model must not lose the other rows
            log.exception("benchmark row %s failed", run.label)
            row = {"label": run.label, "model": run.model_name, "padded": run.padded, "error": f"{type(error).__name__}: {error}"}
        else:
            log.info(
                "%s: F1(E) %.4f, %.1f clouds/s, %.3g ms/cloud at batch 1",
                run.label,
                row["weighted_f1"],
                row["throughput_clouds_per_s"],
                row["latency_ms"]["1"],
            )
        rows.append(row)
    machine["load_average_after"] = _load_average()

    return {
        "command": settings.command,
        "settings": _settings_record(settings, names, files, device),
        "machine": machine,
        "dataset": dataset,
        "rows": rows,
    }


def run_model(run: ModelRun) -> dict[str, Any]:
    """Train and measure one row; see the module docstring.

    Returns:
        A dictionary with ``label``, ``model``, ``padded``, ``params``,
        ``epochs`` (training clouds seen over training clouds),
        ``planned_epochs``, ``stopped_by`` (``epochs`` or ``time``),
        ``fit_seconds``, ``epoch_seconds``, ``throughput_clouds_per_s``,
        ``latency_ms`` (median per cloud by batch size, as a string key),
        ``latency_quartiles_ms``, ``peak_train_mib``, ``peak_inference_mib``,
        ``memory_method``, ``threshold``, ``train_clouds``, ``val_clouds``, ``val_cells``, the
        validation figures ``weighted_f1``, ``weighted_accuracy``,
        ``weighted_precision``, ``weighted_recall``, ``weighted_roc_auc``, and
        ``scores`` with every figure of
        :func:`pflow_geo.metrics.segmentation_scores`.
    """
    import lightning.pytorch as pl

    device = torch.device(run.device)
    if run.threads is not None:
        torch.set_num_threads(run.threads)
    cli = build_cli(run.config, run.cli_args)
    module, data = cli.model, cli.datamodule
    # setup builds the splits, processing the input first when no processed data exists yet.
    data.setup("fit")
    train_clouds = len(data.train_dataset)
    trainer_settings = _trainer_settings(cli, device)
    params = sum(parameter.numel() for parameter in module.net.parameters())

    planned_epochs, max_time = run.budget.epochs, None
    if run.budget.seconds is not None:
        planned_epochs = _plan_epochs(module, data, trainer_settings, run.budget.seconds)
        max_time = timedelta(seconds=run.budget.seconds)

    clock = TrainingClock(label=run.label)
    trainer = pl.Trainer(**trainer_settings, max_epochs=planned_epochs, max_time=max_time, callbacks=[clock])
    with _quiet_lightning_warnings(), PeakMemory(device) as train_memory:
        start = time.perf_counter()
        trainer.fit(module, datamodule=data)
        fit_seconds = time.perf_counter() - start
    completed = trainer.current_epoch >= planned_epochs
    stopped_by = "epochs" if completed else "time"

    # Lightning moves the module back to the CPU after fitting.
    module = module.to(device).eval()
    forward_context = trainer.precision_plugin.forward_context
    val_clouds = [data.val_dataset[index] for index in range(len(data.val_dataset))]
    scores = _validation_scores(module, data, val_clouds, device, forward_context)

    latency_seconds = {}
    latency_seconds[1] = measure_latency(
        module, val_clouds, 1, device, warmup=run.latency_warmup, repeats=run.latency_repeats, forward_context=forward_context
    )
    with PeakMemory(device) as inference_memory:
        latency_seconds[64] = measure_latency(
            module, val_clouds, 64, device, warmup=run.latency_warmup, repeats=run.latency_repeats, forward_context=forward_context
        )

    return {
        "label": run.label,
        "model": run.model_name,
        "padded": run.padded,
        "params": params,
        "epochs": sum(clock.epoch_clouds) / train_clouds,
        "planned_epochs": planned_epochs,
        "stopped_by": stopped_by,
        "fit_seconds": fit_seconds,
        "epoch_seconds": clock.epoch_seconds,
        "throughput_clouds_per_s": clock.throughput(),
        "latency_ms": {str(size): median_ms(seconds) for size, seconds in latency_seconds.items()},
        "latency_quartiles_ms": {str(size): _quartiles_ms(seconds) for size, seconds in latency_seconds.items()},
        "peak_train_mib": train_memory.peak_mib,
        "peak_inference_mib": inference_memory.peak_mib,
        "memory_method": train_memory.method,
        "threshold": float(module.threshold),
        "train_clouds": train_clouds,
        "val_clouds": len(val_clouds),
        "val_cells": int(sum(int((cloud.category == 1).sum()) for cloud in val_clouds)),
        **{name: scores[name] for name in ("weighted_f1", "weighted_accuracy", "weighted_precision", "weighted_recall", "weighted_roc_auc")},
        "scores": scores,
    }


def build_cli(config: str | os.PathLike[str], cli_args: Sequence[str]) -> Any:
    """Build the model and data module of ``config`` through :class:`TrainingCLI` without running it."""
    from ..training.cli import TrainingCLI

    with warnings.catch_warnings():
        # The arguments are passed explicitly while sys.argv contains the benchmark's own.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return TrainingCLI(args=["--config", os.fspath(config), *cli_args], run=False)


def describe_machine(device: torch.device) -> dict[str, Any]:
    """Describe the machine and software the figures were measured on."""
    import lightning
    import torch_geometric

    machine: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "lightning": lightning.__version__,
        "device": str(device),
        "memory_method": memory_method(device),
        "load_average_before": _load_average(),
    }
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        machine["gpu"] = properties.name
        machine["gpu_memory_gib"] = properties.total_memory / 1024**3
    return machine


# ---------------------------------------------------------------------- rows
def _model_run(
    settings: BenchmarkSettings,
    name: str,
    config: Path,
    base_args: list[str],
    device: torch.device,
    padded_args: Sequence[str] = (),
) -> ModelRun:
    args = list(base_args)
    overrides = settings.hparam_overrides.get(name)
    if overrides:
        hparams = {**_config_hparams(config), **overrides}
        args += ["--model.model_hparams", json.dumps(hparams)]
    args += list(padded_args)
    args += list(settings.extra_cli_args)
    return ModelRun(
        label=name,
        model_name=name,
        config=os.fspath(config),
        cli_args=tuple(args),
        budget=settings.budget,
        device=str(device),
        latency_warmup=settings.latency_warmup,
        latency_repeats=settings.latency_repeats,
        threads=settings.threads,
    )


def _padded_pointnet_run(
    settings: BenchmarkSettings, config: Path, base_args: list[str], device: torch.device
) -> tuple[ModelRun, dict[str, Any]]:
    """Return the PointNet row on padded clouds, and its batch size and truncation figures.

    The padded row takes as many clouds per batch as the variable-size
    batching takes on average, so both modes make the same number of
    optimizer steps per epoch and differ only in the padding.
    """
    if not config.is_file():
        raise FileNotFoundError(f"config file not found: {config}; the padded row needs the PointNet config")
    variable = _model_run(settings, "pointnet", config, base_args, device)
    batch_size = _matching_batch_size(variable)
    padded_args = (
        "--data.padded",
        "true",
        "--data.max_points",
        str(settings.max_points),
        "--data.max_points_per_batch",
        "null",
        "--data.batch_size",
        str(batch_size),
    )
    padded = _model_run(settings, "pointnet", config, base_args, device, padded_args)
    padded = replace(padded, label=f"pointnet (padded {settings.max_points})", padded=True)
    summary = {"max_points": settings.max_points, "batch_size": batch_size, **_truncation(padded)}
    return padded, summary


def _base_cli_args(settings: BenchmarkSettings, files: list[str], device: torch.device) -> list[str]:
    return [
        "--seed_everything",
        str(settings.seed),
        "--data.root",
        os.fspath(settings.root),
        "--data.files",
        json.dumps(files),
        "--data.shuffle_seed",
        str(settings.seed),
        "--trainer.accelerator",
        "gpu" if device.type == "cuda" else "cpu",
        "--trainer.logger",
        "false",
    ]


def _config_hparams(config: Path) -> dict[str, Any]:
    import yaml

    with open(config, encoding="utf-8") as handle:
        content = yaml.safe_load(handle) or {}
    return dict((content.get("model") or {}).get("model_hparams") or {})


def _execute(run: ModelRun, isolate: bool) -> dict[str, Any]:
    if not isolate:
        threads = torch.get_num_threads()
        try:
            return run_model(run)
        finally:
            torch.set_num_threads(threads)
    context = multiprocessing.get_context("spawn")
    levels = {name: logging.getLogger(name).getEffectiveLevel() for name in _CHILD_LOGGERS}
    with ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_configure_child, initargs=(levels,)) as pool:
        return pool.submit(run_model, run).result()


def _configure_child(levels: dict[str, int]) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _trainer_settings(cli: Any, device: torch.device) -> dict[str, Any]:
    config = cli.config.trainer
    settings = {key: config[key] for key in KEPT_TRAINER_SETTINGS if config.get(key) is not None}
    settings.update(
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=[device.index or 0] if device.type == "cuda" else 1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    return settings


def _plan_epochs(module: Any, data: Any, trainer_settings: dict[str, Any], seconds: float) -> int:
    """Return the whole epochs that fit in ``seconds``, from the time of a few batches on a copy of ``module``."""
    import lightning.pytorch as pl

    probe = copy.deepcopy(module)
    clock = TrainingClock(time_batches=True)
    trainer = pl.Trainer(**trainer_settings, max_steps=PROBE_BATCHES, callbacks=[clock])
    with _quiet_lightning_warnings():
        trainer.fit(probe, datamodule=data)
    timed = clock.batch_seconds[1:] or clock.batch_seconds
    batches_per_epoch = len(data.train_dataloader())
    epoch_estimate = sum(timed) / len(timed) * batches_per_epoch
    epochs = max(1, int(seconds // epoch_estimate))
    log.info("about %.1f s per epoch (%d batches): planning %d epochs in %g s", epoch_estimate, batches_per_epoch, epochs, seconds)
    return epochs


def _validation_scores(module: Any, data: Any, clouds: list, device: torch.device, forward_context: Any) -> dict[str, float]:
    from ..metrics import segmentation_scores
    from ..training.evaluate import predict_probabilities

    dataset = data.val_dataset
    with forward_context():
        probabilities = predict_probabilities(module, clouds, dataset.num_points, data.batch_size, data.max_points_per_batch, device)
    return segmentation_scores(
        torch.cat(probabilities),
        torch.cat([cloud.y for cloud in clouds]),
        torch.cat([cloud.weight for cloud in clouds]),
        category=torch.cat([cloud.category for cloud in clouds]),
        threshold=float(module.threshold),
    )


@contextmanager
def _quiet_lightning_warnings() -> Iterator[None]:
    """Hide Lightning's advice that does not apply to a benchmark run."""
    with warnings.catch_warnings():
        # The configs load data in the main process (num_workers: 0) on purpose.
        warnings.filterwarnings("ignore", message=r".*does not have many workers")
        # Validation is skipped during training; the benchmark validates once at the end.
        warnings.filterwarnings("ignore", message=r".*limit_val_batches=0")
        yield


# ---------------------------------------------------------------------- dataset
def _summarize_dataset(run: ModelRun) -> dict[str, Any]:
    cli = build_cli(run.config, run.cli_args)
    data = cli.datamodule
    data.prepare_data()
    summary: dict[str, Any] = {"files": list(data.files or [])}
    for split in ("train", "val", "test"):
        dataset = data.dataset(split)
        points = dataset.num_points.double()
        summary[split] = {
            "clouds": len(dataset),
            "mean_points": float(points.mean()) if len(dataset) else float("nan"),
            "max_points": int(points.max()) if len(dataset) else 0,
        }
        summary["processed_dir"] = dataset.processed_dir
    return summary


def _matching_batch_size(run: ModelRun) -> int:
    """Return the clouds per batch that give padded training as many batches per epoch as ``run``'s batching."""
    from ..training.datamodule import fixed_batches

    data = build_cli(run.config, run.cli_args).datamodule
    train = data.dataset("train")
    batches = fixed_batches(train.num_points, data.batch_size, data.max_points_per_batch)
    return max(1, math.ceil(len(train) / max(1, len(batches))))


def _truncation(run: ModelRun) -> dict[str, Any]:
    data = build_cli(run.config, run.cli_args).datamodule
    stats = {}
    for split in ("train", "val"):
        truncation = data.dataset(split).truncation
        stats[f"{split}_truncation"] = truncation.to_dict() if truncation is not None else None
    return stats


# ---------------------------------------------------------------------- records
def _settings_record(settings: BenchmarkSettings, names: list[str], files: list[str], device: torch.device) -> dict[str, Any]:
    record = asdict(settings)
    record["budget"] = asdict(settings.budget)
    record["models"] = names
    record["files"] = files
    record["files_given"] = settings.files is not None
    record["device"] = str(device)
    record["extra_cli_args"] = list(settings.extra_cli_args)
    return record


def _quartiles_ms(seconds: Sequence[float]) -> list[float]:
    values = torch.tensor(seconds, dtype=torch.float64) * 1e3
    return [float(torch.quantile(values, 0.25)), float(torch.quantile(values, 0.75))]


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None
