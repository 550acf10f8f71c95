"""``pflow-geo benchmark``: train every registered model on the same data under the same budget and compare them."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

from ..benchmark import PROCESSES
from ..errors import UsageError
from .options import device_name, non_negative_int, positive_float, positive_int

DESCRIPTION = (
    "Train every registered model (or those named with --models) from its configs/<model>.yaml on the same data, "
    "with the same seed and budget (--epochs or --time-budget), then measure each on the validation split: "
    "energy-weighted F1, accuracy, precision, recall and ROC AUC, parameter count, training throughput, "
    "inference latency per cloud at batch sizes 1 and 64, and peak memory. Without --files, simulates "
    "--events events of --process into ROOT/raw (reused when present; processed data is reused too). "
    "Writes OUTPUT/benchmark.md, OUTPUT/benchmark.json and OUTPUT/f1_vs_latency.png and prints the table. "
    "Each model runs in a fresh process. Exits with status 1 if a model failed; the other rows are still written."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``pflow-geo benchmark`` to ``parser``."""
    data = parser.add_argument_group("data")
    data.add_argument("--process", choices=PROCESSES, default="rho", help="simulated process (default: %(default)s)")
    data.add_argument("--events", type=positive_int, default=2000, metavar="N", help="simulated events (default: %(default)s)")
    data.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        metavar="S",
        help="seed of the simulation, of every model's initialization and of the training order (default: %(default)s)",
    )
    data.add_argument("--files", nargs="+", metavar="FILE", help="MLTree files to use instead of simulated data")
    data.add_argument(
        "--root",
        metavar="DIR",
        help="dataset directory for the simulated file and the processed data (default: data/benchmark/<process>, "
        "or data/benchmark/files with --files)",
    )
    data.add_argument(
        "--workers", type=positive_int, default=1, metavar="K", help="processes for simulating and processing the data (default: %(default)s)"
    )

    training = parser.add_argument_group("models and budget")
    training.add_argument(
        "--models", nargs="+", default=["all"], metavar="NAME", help="registered model names, or all (default: all)"
    )
    budget = training.add_mutually_exclusive_group(required=True)
    budget.add_argument("--epochs", type=positive_int, metavar="E", help="training epochs per model")
    budget.add_argument(
        "--time-budget",
        type=positive_float,
        metavar="SECONDS",
        help="training wall time per model in seconds; the epochs that fit are estimated from a few timed batches",
    )
    training.add_argument(
        "--include-padded",
        action="store_true",
        help="add a PointNet row on clouds padded to --max-points, for comparison with variable-size clouds",
    )
    training.add_argument("--max-points", type=positive_int, default=800, metavar="N", help="cloud size of the padded row (default: %(default)s)")
    training.add_argument("--config-dir", metavar="DIR", help="folder with one <model>.yaml per model (default: the checkout's configs/)")

    measurement = parser.add_argument_group("measurement")
    measurement.add_argument("--device", type=device_name, default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    measurement.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="torch intra-op threads on the CPU (default: torch's choice); 1 gives steadier figures on a CPU shared with other jobs",
    )
    measurement.add_argument(
        "--latency-repeats", type=positive_int, default=20, metavar="N", help="timed forward passes per batch size (default: %(default)s)"
    )
    measurement.add_argument(
        "--latency-warmup", type=non_negative_int, default=3, metavar="N", help="untimed forward passes first (default: %(default)s)"
    )
    measurement.add_argument(
        "--no-isolation", action="store_true", help="run every model in this process (faster start; memory figures then share one heap)"
    )
    parser.add_argument("--output", required=True, metavar="DIR", help="folder for benchmark.md, benchmark.json and f1_vs_latency.png")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, write and print the table; return 0, or 1 when a model failed.

    Raises:
        UsageError: For an unknown model name, or a CUDA device that this machine lacks.
        FileNotFoundError: If a model config or an input file is missing.
        MLTreeInputError: If an input file cannot be used.
    """
    from ..benchmark.report import format_markdown, write_outputs
    from ..benchmark.runner import BenchmarkSettings, Budget, run_benchmark

    _check_models(args.models)
    if not args.verbose:
        # Lightning's per-Trainer notices (devices, tips, seeds) would repeat for every model.
        for name in ("lightning.pytorch", "lightning.fabric"):
            logging.getLogger(name).setLevel(logging.WARNING)
    models = None if args.models == ["all"] else args.models
    root = args.root or (f"data/benchmark/{args.process}" if args.files is None else "data/benchmark/files")
    settings = BenchmarkSettings(
        budget=Budget(epochs=args.epochs, seconds=args.time_budget),
        process=args.process,
        events=args.events,
        seed=args.seed,
        models=models,
        root=root,
        files=args.files,
        include_padded=args.include_padded,
        max_points=args.max_points,
        device=args.device,
        config_dir=args.config_dir,
        isolate=not args.no_isolation,
        latency_warmup=args.latency_warmup,
        latency_repeats=args.latency_repeats,
        workers=args.workers,
        threads=args.threads,
        command=_command_line(),
    )
    results = run_benchmark(settings)

    paths = write_outputs(results, args.output)
    print(format_markdown(results, plot_file=None))
    print(f"wrote {paths['markdown']}, {paths['json']} and {paths['plot']}")
    failed = [row["label"] for row in results["rows"] if row.get("error")]
    if failed:
        print(f"error: {len(failed)} model(s) failed: {', '.join(failed)}; see the log above", file=sys.stderr)
        return 1
    return 0


def _check_models(names: list[str]) -> None:
    """Raise UsageError unless ``names`` is ``["all"]`` or registered model names only."""
    from ..models import available_models

    if "all" in names and len(names) > 1:
        raise UsageError(f"--models: give all alone or a list of model names, got {' '.join(names)}")
    unknown = sorted(set(names) - {"all", *available_models()})
    if unknown:
        raise UsageError(f"--models: unknown model(s) {', '.join(unknown)}; available: all, {', '.join(available_models())}")


def _command_line() -> str:
    """Return the command as ``pflow-geo benchmark ...``, whichever entry point started it."""
    argv = sys.argv[1:]
    arguments = argv[argv.index("benchmark") + 1 :] if "benchmark" in argv else argv
    return shlex.join(["pflow-geo", "benchmark", *arguments])
