"""``pflow-geo demo``: the whole chain on a small simulated single-rho sample."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import non_negative_int, positive_int

DESCRIPTION = (
    "Simulate single-rho events, build the point clouds, train PointNet, evaluate it against every baseline "
    "(always 1, always 0, the delta-R cone and the cell subtraction) on the test split, write the evaluation "
    "report and print the comparison. About 5 minutes on two CPU cores. The simulated sample and processed "
    "clouds of an earlier run in OUTPUT are reused."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``pflow-geo demo`` to ``parser``."""
    from ..demo import DemoSettings

    defaults = DemoSettings()
    parser.add_argument(
        "--output", type=Path, default=defaults.output, metavar="DIR", help="folder for data, runs and evaluation (default: %(default)s)"
    )
    parser.add_argument(
        "--events", type=positive_int, default=defaults.events, metavar="N", help="simulated single-rho events (default: %(default)s)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=defaults.seed, metavar="S", help="simulation seed (default: %(default)s)")
    parser.add_argument(
        "--epochs", type=positive_int, default=defaults.epochs, metavar="E", help="maximum training epochs (default: %(default)s)"
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=defaults.workers,
        metavar="K",
        help="processes for simulation and processing (default: %(default)s)",
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="training config (default: configs/pointnet.yaml of the source checkout)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo and return 0.

    Raises:
        FileNotFoundError: If the training config is missing.
    """
    from ..demo import DemoSettings, run_demo

    settings = DemoSettings(args.output, args.events, args.seed, args.epochs, args.workers, args.config)
    run_demo(settings)
    return 0
