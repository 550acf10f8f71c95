"""Fast simulation of an ATLAS-like calorimeter and tracker, written as MLTree ntuples.

Single rho, pi, photon, pi0 and electron guns and jet-like events are
showered in a projective cell grid with the ATLAS granularity, read out with
Gaussian electronic noise, topo-clustered (4-2-0 with splitting) and written
with the MLTree ``EventTree`` and ``CellGeo`` branches. See
``docs/simulation.md`` for the models and their validation.

Example:
    >>> from pflow_geo.simulation import simulate
    >>> simulate("rho", 100, seed=1, output="rho.root")  # doctest: +SKIP
"""

from .config import SimulationConfig
from .particles import PROCESSES
from .run import simulate

__all__ = ["simulate", "SimulationConfig", "PROCESSES"]
