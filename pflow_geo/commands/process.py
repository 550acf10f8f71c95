"""``pflow-geo process``: build the point-cloud dataset from MLTree files."""

from __future__ import annotations

import argparse
import json

DESCRIPTION = (
    "Build the per-track point-cloud dataset from MLTree files and print a summary: events, tracks kept and "
    "skipped by reason, points per cloud, the energy-weighted fraction of cells labelled 1, and, with --padded, "
    "what padding to --max-points cuts. Processing resumes from the shards of an interrupted run."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="MLTree ROOT files (EventTree, and CellGeo unless --cell-geo is given)")
    parser.add_argument("--root", required=True, help="dataset directory; processed data goes to ROOT/processed/<hash>/")
    parser.add_argument("--cell-geo", help="separate ROOT file with the CellGeo tree")
    parser.add_argument("--delta-r", type=float, default=0.2, help="cone size around the track, in eta-phi distance (default: 0.2)")
    parser.add_argument(
        "--features",
        nargs="*",
        default=[],
        help="optional feature columns added to x: layer, delta_eta, delta_phi (radians), significance (E/sigma)",
    )
    parser.add_argument("--min-cells", type=int, default=1, help="skip tracks with fewer cells in the cone (default: 1)")
    parser.add_argument("--padded", action="store_true", help="also report what fixed-size padding to --max-points would cut")
    parser.add_argument("--max-points", type=int, default=800, help="cloud size for --padded, in points (default: 800)")
    parser.add_argument("--truth-energy-unit", choices=("MeV", "GeV"), default="MeV", help="unit of cluster_cell_hitsTruthE in the inputs (MLTree: MeV)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    parser.add_argument("--step-size", type=int, default=1000, help="events per processing unit; bounds each worker's memory (default: 1000)")
    parser.add_argument("--force", action="store_true", help="discard existing processed data for these options and process again")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from ..datasets import TrackCloudDataset
    from ..datasets.summary import format_summary, summarize_processed
    from ..errors import MLTreeInputError

    try:
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
    except MLTreeInputError as error:
        print(f"error: {error}")
        return 1
    summary = summarize_processed(dataset.processed_dir, args.max_points if args.padded else None)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
