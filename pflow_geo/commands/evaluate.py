"""``pflow-geo evaluate``: score a checkpoint and the baselines on one split."""

from __future__ import annotations

import argparse
import os

from ..errors import InputError, UsageError
from .options import device_name, positive_int, probability

DESCRIPTION = (
    "Run a checkpoint of `pflow-geo train` and the baselines (always 1, always 0, the delta-R cone and the cell "
    "subtraction, the last two fitted on the training split) on one split. Writes OUTPUT/metrics.json with every "
    "method's accuracy, precision, recall, F1 and ROC AUC, unweighted and weighted by cell energy, and prints them "
    "as a table. With --report, also writes the per-cell prediction table OUTPUT/predictions.parquet and the "
    "evaluation report in OUTPUT/report/. The dataset options come from the checkpoint; --root and --files "
    "point them at other data."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``pflow-geo evaluate`` to ``parser``."""
    parser.add_argument(
        "--checkpoint", required=True, metavar="FILE", help="checkpoint file written by `pflow-geo train`, e.g. runs/<model>/version_<n>/checkpoints/last.ckpt"
    )
    parser.add_argument("--root", metavar="DIR", help="dataset directory (default: the training run's data.root)")
    parser.add_argument(
        "--files", nargs="+", metavar="FILE", help="MLTree input files (default: the training run's data.files)"
    )
    parser.add_argument("--split", choices=("train", "val", "test"), default="test", help="split to evaluate (default: %(default)s)")
    parser.add_argument("--output", required=True, metavar="DIR", help="output folder for metrics.json (created if missing)")
    parser.add_argument(
        "--threshold",
        type=probability,
        metavar="P",
        help="probability above which a cell counts as assigned to the track, in [0, 1] (default: the model's, usually 0.5)",
    )
    parser.add_argument(
        "--device", type=device_name, default="auto", help="device for the model: auto, cpu, cuda or cuda:N (default: %(default)s)"
    )
    parser.add_argument(
        "--max-points-per-batch", type=positive_int, metavar="N", help="point budget per batch (default: the training run's batching)"
    )
    parser.add_argument(
        "--report", action="store_true", help="also write predictions.parquet and the evaluation report (report/)"
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the outputs, print the table and return 0.

    Raises:
        UsageError: For a CUDA device that this machine lacks.
        FileNotFoundError: If the checkpoint or an input file is missing.
        InputError: If the checkpoint, the input files or the split cannot be used.
    """
    from ..training.evaluate import evaluate_checkpoint, format_table, write_metrics

    try:
        evaluation = evaluate_checkpoint(
            args.checkpoint,
            root=args.root,
            files=args.files,
            split=args.split,
            threshold=args.threshold,
            device=args.device,
            max_points_per_batch=args.max_points_per_batch,
        )
    except (InputError, UsageError):
        raise
    except ValueError as error:
        # evaluate_checkpoint raises ValueError for data that does not fit the
        # checkpoint, such as other feature columns or a split without cells.
        raise InputError(str(error)) from error

    write_metrics(evaluation.metrics, os.path.join(args.output, "metrics.json"))
    print(format_table(evaluation.metrics))
    print(f"wrote {os.path.join(args.output, 'metrics.json')}")
    if args.report:
        from ..evaluation.predictions import write_predictions
        from ..evaluation.report import write_report

        predictions = os.path.join(args.output, "predictions.parquet")
        write_predictions(evaluation.table, predictions)
        report_dir = os.path.join(args.output, "report")
        write_report(evaluation.table, report_dir, reference="model", threshold=evaluation.metrics["threshold"])
        print(f"wrote {predictions} and the report in {report_dir}")
    return 0
