"""The whole chain on a small simulated sample: the job behind ``make demo`` and ``pflow-geo demo``.

Steps: simulate single-rho events, build the point clouds, train PointNet
from ``configs/pointnet.yaml``, evaluate the best checkpoint and every
baseline on the test split with the full report, and print the comparison.
The simulated sample and the processed clouds of an earlier run in the same
output folder are reused; training always starts a new run.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DemoSettings", "run_demo", "default_config"]

log = logging.getLogger(__name__)


def default_config() -> Path:
    """Return ``configs/pointnet.yaml`` of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[1] / "configs" / "pointnet.yaml"


@dataclass(frozen=True)
class DemoSettings:
    """Size and location of the demo.

    Attributes:
        output: Folder for the data, the training runs and the evaluation.
        events: Simulated single-rho events.
        seed: Simulation seed.
        epochs: Training epochs (early stopping may end sooner).
        workers: Processes for simulation and processing.
        config: Training config; ``configs/pointnet.yaml`` of the checkout when None.
    """

    output: Path = Path("demo")
    events: int = 2500
    seed: int = 1
    epochs: int = 20
    workers: int = 2
    config: Path | None = None


def _step(number: int, text: str) -> float:
    print(f"\n[{number}/4] {text}", flush=True)
    return time.perf_counter()


def _done(start: float) -> None:
    print(f"      done in {time.perf_counter() - start:.0f} s", flush=True)


def _training_args(config: Path, sample: Path, data_root: Path, runs: Path, settings: DemoSettings) -> list[str]:
    return [
        "fit",
        "--config",
        os.fspath(config),
        "--data.root",
        os.fspath(data_root),
        "--data.files",
        f"[{os.fspath(sample)}]",
        "--data.processing_workers",
        str(settings.workers),
        "--trainer.max_epochs",
        str(settings.epochs),
        "--trainer.logger.init_args.save_dir",
        os.fspath(runs),
        "--trainer.enable_model_summary",
        "false",
    ]


def run_demo(settings: DemoSettings) -> dict:
    """Run the demo and return the evaluation metrics (the ``metrics.json`` content).

    Raises:
        FileNotFoundError: If the training config does not exist.
    """
    from .simulation import simulate
    from .training.cli import TrainingCLI
    from .training.evaluate import evaluate_checkpoint, format_table, write_metrics

    config = Path(settings.config) if settings.config is not None else default_config()
    if not config.is_file():
        raise FileNotFoundError(f"training config {config} not found; run the demo from the source checkout or pass --config")
    output = settings.output.resolve()
    sample = output / "data" / "raw" / f"rho_{settings.events}_seed{settings.seed}.root"
    data_root = output / "data"
    runs = output / "runs"
    evaluation_dir = output / "evaluation"
    total = time.perf_counter()

    start = _step(1, f"simulating {settings.events} single-rho events into {sample}")
    if sample.exists():
        print("      reusing the sample of an earlier run")
    else:
        sample.parent.mkdir(parents=True, exist_ok=True)
        simulate("rho", settings.events, settings.seed, sample, workers=settings.workers, progress=True)
    _done(start)

    start = _step(2, f"building point clouds and training PointNet for up to {settings.epochs} epochs")
    with warnings.catch_warnings():
        # Lightning warns whenever args are passed while sys.argv is not empty.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        cli = TrainingCLI(args=_training_args(config, sample, data_root, runs, settings))
    checkpoint = cli.trainer.checkpoint_callback.best_model_path or cli.trainer.checkpoint_callback.last_model_path
    run_dir = Path(cli.trainer.log_dir)
    _done(start)

    start = _step(3, "evaluating PointNet and the baselines on the test split")
    evaluation = evaluate_checkpoint(checkpoint, split="test")
    write_metrics(evaluation.metrics, evaluation_dir / "metrics.json")
    _done(start)

    start = _step(4, "writing the evaluation report")
    from .evaluation.predictions import write_predictions
    from .evaluation.report import write_report

    write_predictions(evaluation.table, evaluation_dir / "predictions.parquet")
    write_report(evaluation.table, evaluation_dir / "report", reference="model", threshold=evaluation.metrics["threshold"])
    _done(start)

    print()
    print(format_table(evaluation.metrics))
    print(f"\ntotal time {time.perf_counter() - total:.0f} s")
    print(f"report:      {evaluation_dir / 'report' / 'report.md'} (figures in {evaluation_dir / 'report' / 'figures'})")
    print(f"metrics:     {evaluation_dir / 'metrics.json'}")
    print(f"checkpoint:  {checkpoint}")
    print(f"TensorBoard: tensorboard --logdir {runs}   (then open http://localhost:6006)")
    log.info("demo run folder: %s", run_dir)
    return evaluation.metrics
