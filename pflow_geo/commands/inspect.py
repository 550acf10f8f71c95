"""``pflow-geo inspect``: check whether an MLTree file can be used, and why not."""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = (
    "Check an MLTree file before processing it. The report lists the trees (TTree or RNTuple) "
    "with their entry counts and branches, the required branches that are missing and the "
    "optional ones that are present. It then reads the first events and counts the known "
    "MLTree pitfalls: truth lists longer than cell lists, unsigned truth indices, per-track "
    "vectors of unequal length, -1e9 layer sentinels, cells shared by clusters, cell IDs "
    "missing from CellGeo, and NaN or infinite values. It also checks that cell energies are "
    "in GeV and that truth energies and noise are in MeV. "
    "Exits with status 0 when the file is usable and 1 when it is not."
)

# Same number as pflow_geo.io.inspect.DEFAULT_NUM_EVENTS, which is not
# imported here so that `--help` does not load uproot.
DEFAULT_EVENTS = 300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``pflow-geo inspect`` to ``parser``."""
    parser.add_argument("file", metavar="FILE", help="MLTree ROOT file with the EventTree, and the CellGeo tree unless --cell-geo is given")
    parser.add_argument(
        "--cell-geo",
        metavar="FILE",
        default=None,
        help="ROOT file with the CellGeo tree, when it is not in FILE (default: read CellGeo from FILE)",
    )
    parser.add_argument(
        "--events",
        metavar="N",
        type=_positive_int,
        default=DEFAULT_EVENTS,
        help="number of events, counted from the first, read for the pitfall and unit checks (default: %(default)s)",
    )
    parser.add_argument(
        "--truth-energy-unit",
        choices=("MeV", "GeV"),
        default="MeV",
        help="energy unit of cluster_cell_hitsTruthE in the file; MLTree writes MeV (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    """Inspect ``args.file``, print the report and return 0 when the file is usable, else 1."""
    from ..io.inspect import inspect_mltree

    report = inspect_mltree(args.file, args.cell_geo, num_events=args.events, truth_energy_unit=args.truth_energy_unit)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    return 0 if report.usable else 1


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of events, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 event, got {value}")
    return value
