"""``pflow-geo train``: listed in ``pflow-geo --help``; the arguments go to Lightning's CLI.

``pflow_geo.cli.main`` hands everything after a leading ``train`` to
:func:`pflow_geo.train.main` before argparse runs. Argparse reaches
:func:`run` only when global options come first (``pflow-geo -q train fit ...``).
"""

from __future__ import annotations

import argparse

DESCRIPTION = (
    "Train a segmentation model with Lightning's CLI: `pflow-geo train fit --config configs/pointnet.yaml`. "
    "Subcommands fit, validate, test and predict; run `pflow-geo train --help` or `pflow-geo train fit --help` "
    "for every option."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Accept any arguments, so that the help entry never rejects them."""
    parser.add_argument("lightning_args", nargs=argparse.REMAINDER, help="arguments of Lightning's CLI")


def run(args: argparse.Namespace) -> int:
    """Run Lightning's CLI with the collected arguments."""
    from ..train import main

    return main(args.lightning_args, prog="pflow-geo train")
