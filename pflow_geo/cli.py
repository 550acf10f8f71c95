"""The ``pflow-geo`` command line (also ``python -m pflow_geo``).

Each subcommand lives in ``pflow_geo.commands.<name>`` and provides
``add_arguments(parser)`` and ``run(args) -> int``. Modules import their heavy
dependencies inside ``run`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence

from . import __version__

# Subcommand name -> (module, one-line help). Order is the order in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("inspect", "check an MLTree file: trees, branches, entries, units and known pitfalls"),
    "simulate": ("simulate", "write simulated MLTree files (single particles, rho and jet-like events)"),
    "process": ("process", "build the point-cloud dataset from MLTree files"),
    "train": ("train", "train a segmentation model (Lightning CLI; see `pflow-geo train --help`)"),
    "evaluate": ("evaluate", "evaluate a checkpoint against the baselines and write metrics and a report"),
    "benchmark": ("benchmark", "train every registered model on the same data and compare them"),
    "demo": ("demo", "run the whole chain on a small simulated rho sample"),
}


def build_parser(available: dict[str, tuple[str, str]] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per available command."""
    parser = argparse.ArgumentParser(
        prog="pflow-geo",
        description="Cell-to-track segmentation for particle flow on calorimeter point clouds.",
    )
    parser.add_argument("--version", action="version", version=f"pflow_geo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages too (the default logs INFO and above)")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, summary) in (available or _available_commands()).items():
        module = importlib.import_module(f"pflow_geo.commands.{module_name}")
        sub = subparsers.add_parser(name, help=summary, description=getattr(module, "DESCRIPTION", summary))
        module.add_arguments(sub)
        sub.set_defaults(_command_module=module)
    return parser


def _available_commands() -> dict[str, tuple[str, str]]:
    """Return the commands whose module exists in this installation."""
    available = {}
    for name, (module_name, summary) in COMMANDS.items():
        if importlib.util.find_spec(f"pflow_geo.commands.{module_name}") is not None:
            available[name] = (module_name, summary)
    return available


def configure_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Send log records to stderr at the level chosen on the command line."""
    level = logging.INFO
    if verbose:
        level = logging.DEBUG
    if quiet:
        level = logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # Lightning attaches its own console handlers; without this every message would appear twice.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # `train` hands everything after it to Lightning's CLI, which has its own parser.
    if argv and argv[0] == "train":
        from .train import main as train_main

        return train_main(argv[1:], prog="pflow-geo train")
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    return int(args._command_module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
