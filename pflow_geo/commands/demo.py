"""``pflow-geo demo``: the whole chain on a small simulated single-rho sample."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    parser.add_argument("--output", type=Path, default=defaults.output, help="folder for data, runs and evaluation (default: %(default)s)")
    parser.add_argument("--events", type=int, default=defaults.events, help="simulated single-rho events (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="simulation seed (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="maximum training epochs (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="processes for simulation and processing (default: %(default)s)")
    parser.add_argument("--config", type=Path, help="training config (default: configs/pointnet.yaml of the source checkout)")


def run(args: argparse.Namespace) -> int:
    """Run the demo; print the error and return 1 when the config is missing."""
    from ..demo import DemoSettings, run_demo

    settings = DemoSettings(args.output, args.events, args.seed, args.epochs, args.workers, args.config)
    try:
        run_demo(settings)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
