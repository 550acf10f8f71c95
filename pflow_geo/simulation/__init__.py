"""Fast simulation of an ATLAS-like calorimeter and tracker, written as MLTree ntuples.

The simulator generates single rho, pi, photon, pi0 and electron guns and
jet-like events and showers them in a projective cell grid with the ATLAS
granularity. The cells get Gaussian electronic noise and are topo-clustered
(4-2-0 with splitting). Events are written with the MLTree ``EventTree`` and
``CellGeo`` branches. ``docs/simulation.md`` describes the models and their
validation.

Example:
    >>> from pflow_geo.simulation import simulate
    >>> simulate("rho", 100, seed=1, output="rho.root")  # doctest: +SKIP
"""

from .config import PROCESSES, SimulationConfig

__all__ = ["simulate", "SimulationConfig", "PROCESSES"]


def __getattr__(name: str):
    # Load the simulation (numpy, uproot) only when it is used, so that the
    # command line can read the settings' defaults quickly.
    if name == "simulate":
        from .run import simulate

        return simulate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
