"""The ``pflow-geo`` command line (also ``python -m pflow_geo``).

Each subcommand lives in ``pflow_geo.commands.<name>`` and provides
``add_arguments(parser)`` and ``run(args) -> int``. Modules import their heavy
dependencies inside ``run`` so that ``--help`` stays fast. A ``run`` reports
bad input by raising the exceptions of :mod:`pflow_geo.errors`, which
:func:`run_reporting_errors` prints as one message.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .errors import InputError, UsageError

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2

# Exceptions that report bad input, not a bug: unusable files, and paths that
# are missing, of the wrong kind or not writable.
BAD_INPUT_ERRORS = (InputError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)

EPILOG = (
    "Exit status: 0 on success; 1 when an input file cannot be used (not found, not an MLTree file or a checkpoint, "
    "missing trees or branches), a path is not a usable file or folder, or a run failed; 2 for invalid options or "
    "option combinations. These errors print a message that starts with 'error:' and no traceback; -v logs the "
    "traceback too. Any other exception is a bug and prints its traceback."
)

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
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"pflow_geo {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug messages and error tracebacks too (the default logs INFO and above)"
    )
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
    return run_reporting_errors(lambda: args._command_module.run(args))


def run_reporting_errors(command: Callable[[], int | None]) -> int:
    """Call ``command`` and return its exit status, printing expected errors as one ``error:`` message on stderr.

    UsageError returns ``EXIT_USAGE`` (2), and the ``BAD_INPUT_ERRORS``
    return ``EXIT_BAD_INPUT`` (1). Their traceback is logged at DEBUG level,
    which ``-v`` shows. Every other exception propagates with its traceback,
    because it is a bug rather than bad input.
    """
    try:
        return int(command() or 0)
    except UsageError as error:
        return _report(error, EXIT_USAGE)
    except BAD_INPUT_ERRORS as error:
        return _report(error, EXIT_BAD_INPUT)


def _report(error: Exception, status: int) -> int:
    log.debug("traceback of the error below", exc_info=error)
    print(f"error: {error}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
