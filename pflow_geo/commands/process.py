"""``pflow-geo process``: build the point-cloud dataset from MLTree files."""

from __future__ import annotations

import argparse
import json

from ..datasets.fields import OPTIONAL_FEATURES
from ..errors import UsageError
from .options import float_between, non_negative_int, positive_int

DESCRIPTION = (
    "Build the per-track point-cloud dataset from MLTree files and print a summary: events, tracks kept and "
    "skipped by reason, points per cloud, the energy-weighted fraction of cells labelled 1, and, with --padded, "
    "what padding to --max-points cuts. Processing resumes from the shards of an interrupted run."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``pflow-geo process`` to ``parser``."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="MLTree ROOT files (EventTree, and CellGeo unless --cell-geo is given)")
    parser.add_argument("--root", required=True, metavar="DIR", help="dataset directory; processed data goes to DIR/processed/<hash>/")
    parser.add_argument("--cell-geo", metavar="FILE", help="separate ROOT file with the CellGeo tree (default: read CellGeo from each INPUT)")
    parser.add_argument(
        "--delta-r",
        type=float_between(0.0, 1.0, include_low=False),
        default=0.2,
        metavar="R",
        help="cone size around the track, in eta-phi distance, in (0, 1] (default: %(default)s)",
    )
    parser.add_argument(
        "--features",
        nargs="*",
        choices=OPTIONAL_FEATURES,
        default=[],
        metavar="NAME",
        help="optional feature columns added to x: layer, delta_eta, delta_phi (radians), significance (E/sigma)",
    )
    parser.add_argument(
        "--min-cells", type=non_negative_int, default=1, metavar="N", help="skip tracks with fewer cells in the cone (default: %(default)s)"
    )
    parser.add_argument("--padded", action="store_true", help="also report what fixed-size padding to --max-points would cut")
    parser.add_argument(
        "--max-points", type=positive_int, default=800, metavar="N", help="cloud size for --padded, in points (default: %(default)s)"
    )
    parser.add_argument(
        "--truth-energy-unit",
        choices=("MeV", "GeV"),
        default="MeV",
        help="unit of cluster_cell_hitsTruthE in the inputs; MLTree writes MeV (default: %(default)s)",
    )
    parser.add_argument("--workers", type=positive_int, default=1, metavar="K", help="worker processes (default: %(default)s)")
    parser.add_argument(
        "--step-size",
        type=positive_int,
        default=1000,
        metavar="N",
        help="events per processing unit; bounds each worker's memory (default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="discard existing processed data for these options and process again")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    """Process the inputs, print the summary and return 0.

    Raises:
        UsageError: If --features names a column twice.
        FileNotFoundError: If an input file does not exist.
        MLTreeInputError: If an input file cannot be used.
    """
    from ..datasets import TrackCloudDataset
    from ..datasets.summary import format_summary, summarize_processed

    repeated = sorted({name for name in args.features if args.features.count(name) > 1})
    if repeated:
        raise UsageError(f"--features lists {', '.join(repeated)} more than once; name each feature once")
    dataset = TrackCloudDataset(
        args.root,
        files=args.inputs,
        split="train",
        delta_r=args.delta_r,
        features=args.features,
        min_cells=args.min_cells,
        cell_geo=args.cell_geo,
        truth_energy_unit=args.truth_energy_unit,
        workers=args.workers,
        step_size=args.step_size,
        force_reload=args.force,
    )
    summary = summarize_processed(dataset.processed_dir, args.max_points if args.padded else None)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
