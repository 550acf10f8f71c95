"""``pflow-geo simulate``: write simulated MLTree files."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import UsageError
from ..simulation.config import MAX_ABS_ETA, PROCESSES, SimulationConfig
from .options import float_between, non_negative_float, non_negative_int, positive_float, positive_int, probability

_DEFAULTS = SimulationConfig()

# Ranges that SimulationConfig accepts, checked here so that errors name the options.
_ETA = float_between(-MAX_ABS_ETA, MAX_ABS_ETA)
_PHI = float_between(-math.pi, math.pi, low_text="-pi", high_text="pi")
_RANGES = (("--energy-min", "--energy-max"), ("--eta-min", "--eta-max"), ("--phi-min", "--phi-max"))

DESCRIPTION = (
    "Simulate events in an ATLAS-like calorimeter and tracker and write them, with the cell "
    "geometry, to one MLTree ROOT file (EventTree and CellGeo). Processes: single rho+- "
    "(-> pi+- pi0 -> pi+- gamma gamma), pi+-, photons, pi0, electrons, and jet-like events. "
    "The primary energy is drawn uniformly in log E, eta and phi uniformly. The file is written "
    "to OUTPUT.part and renamed when complete; the same seed gives the same content whatever "
    "the number of workers."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``pflow-geo simulate`` to ``parser``."""
    parser.add_argument("--process", required=True, choices=PROCESSES, help="what each event contains")
    parser.add_argument("--events", required=True, type=positive_int, metavar="N", help="number of events to simulate")
    parser.add_argument("--seed", required=True, type=non_negative_int, metavar="S", help="run seed; each event's random stream is derived from (S, event index)")
    parser.add_argument("--output", required=True, metavar="FILE", help="output ROOT file (its directory must exist)")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="K", help="number of worker processes (default: %(default)s)")
    parser.add_argument("--chunk-size", type=positive_int, default=_DEFAULTS.chunk_size, metavar="N", help="events generated and written at a time; memory grows with it (default: %(default)s)")
    parser.add_argument("--energy-min", type=positive_float, default=_DEFAULTS.energy_min_gev, metavar="GEV", help="lowest primary energy in GeV (default: %(default)s)")
    parser.add_argument("--energy-max", type=positive_float, default=_DEFAULTS.energy_max_gev, metavar="GEV", help="highest primary energy in GeV; equal to --energy-min for a fixed energy (default: %(default)s)")
    parser.add_argument("--eta-min", type=_ETA, default=_DEFAULTS.eta_min, metavar="ETA", help=f"lowest primary pseudorapidity, in [-{MAX_ABS_ETA:g}, {MAX_ABS_ETA:g}] (default: %(default)s)")
    parser.add_argument("--eta-max", type=_ETA, default=_DEFAULTS.eta_max, metavar="ETA", help=f"highest primary pseudorapidity, in [-{MAX_ABS_ETA:g}, {MAX_ABS_ETA:g}] (default: %(default)s)")
    parser.add_argument("--phi-min", type=_PHI, default=_DEFAULTS.phi_min, metavar="RAD", help="lowest primary azimuth in radians, in [-pi, pi] (default: -pi)")
    parser.add_argument("--phi-max", type=_PHI, default=_DEFAULTS.phi_max, metavar="RAD", help="highest primary azimuth in radians, in [-pi, pi] (default: pi)")
    parser.add_argument("--unmatched-track-rate", type=probability, default=_DEFAULTS.unmatched_track_rate, metavar="P", help="probability per event of an extra track with no truth match (default: %(default)s)")
    parser.add_argument("--noise-scale", type=positive_float, default=_DEFAULTS.noise_scale, metavar="X", help="factor on the per-layer electronic noise added to the cells (default: %(default)s)")
    parser.add_argument(
        "--pileup-noise-scale", type=non_negative_float, default=_DEFAULTS.pileup_noise_scale, metavar="X",
        help="factor on the Run-2-like pile-up noise that enters the clustering thresholds with the electronic noise; 0 for thresholds at the electronic noise (default: %(default)s)",
    )
    parser.add_argument("--contributors", type=positive_int, default=_DEFAULTS.truth_contributors, metavar="N", help="truth particles kept per cell, largest energy first (default: %(default)s)")
    parser.add_argument("--no-split", action="store_true", help="do not split topo-clusters at local maxima")
    parser.add_argument("--no-truth-padding", action="store_true", help="do not pad the per-cell truth lists to cluster_nCells (MLTree master pads them)")
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the simulation described by ``args`` and return 0.

    Raises:
        UsageError: If a minimum option exceeds its maximum, e.g. --energy-min above --energy-max.
        FileNotFoundError: If the directory of --output does not exist.
        IsADirectoryError: If --output is a directory.
    """
    from ..simulation import simulate

    for low_option, high_option in _RANGES:
        low = getattr(args, _dest(low_option))
        high = getattr(args, _dest(high_option))
        if low > high:
            raise UsageError(f"{low_option} {low:g} is above {high_option} {high:g}; give {low_option} <= {high_option}")
    output = Path(args.output)
    if output.is_dir():
        raise IsADirectoryError(f"--output: {output} is a directory; give a file path such as {output / 'events.root'}")
    if not output.parent.is_dir():
        raise FileNotFoundError(f"--output: directory {output.parent} not found; create it first")
    settings = dict(
        chunk_size=args.chunk_size,
        energy_min_gev=args.energy_min,
        energy_max_gev=args.energy_max,
        eta_min=args.eta_min,
        eta_max=args.eta_max,
        phi_min=args.phi_min,
        phi_max=args.phi_max,
        unmatched_track_rate=args.unmatched_track_rate,
        noise_scale=args.noise_scale,
        pileup_noise_scale=args.pileup_noise_scale,
        truth_contributors=args.contributors,
        split_clusters=not args.no_split,
        pad_truth_lists=not args.no_truth_padding,
    )
    simulate(args.process, args.events, args.seed, args.output, workers=args.workers, progress=not args.no_progress, **settings)
    return 0


def _dest(option: str) -> str:
    return option.removeprefix("--").replace("-", "_")
