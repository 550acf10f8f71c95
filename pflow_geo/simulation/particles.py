"""Truth particles: PDG properties, particle guns, rho and pi0 decays, and jet-like events.

Four-momenta are ``(E, px, py, pz)`` in GeV. Every event's truth list
contains all generated particles in the order they were made, decayed ones
included (status 2). MLTree writes the list this way with
``OnlyStableTruthParticles=False``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .config import PROCESSES

__all__ = [
    "ParticleData", "PARTICLES", "TruthRecord", "PROCESSES", "generate_truth",
    "two_body_decay", "sample_rho_mass", "invariant_mass", "four_momentum", "decay_pi0", "TruthBuilder",
]


@dataclass(frozen=True)
class ParticleData:
    """Properties of one particle species (PDG 2024 masses).

    Attributes:
        name: Short name.
        mass: Mass in GeV.
        charge: Charge in units of e.
        shower: "em" for photons and electrons, "hadron" for hadrons, "none" for particles that decay at the vertex.
        lambda_scale: Mean free path before the first hard interaction, in units of lambda_I.
        baryon: +1 for baryons, -1 for anti-baryons, 0 otherwise (sets the energy available to the shower).
    """

    name: str
    mass: float
    charge: int
    shower: str
    lambda_scale: float = 1.0
    baryon: int = 0


PARTICLES: dict[int, ParticleData] = {
    22: ParticleData("gamma", 0.0, 0, "em"),
    11: ParticleData("e-", 0.000511, -1, "em"),
    -11: ParticleData("e+", 0.000511, 1, "em"),
    111: ParticleData("pi0", 0.134977, 0, "none"),
    211: ParticleData("pi+", 0.13957, 1, "hadron", 1.2),
    -211: ParticleData("pi-", 0.13957, -1, "hadron", 1.2),
    213: ParticleData("rho+", 0.77511, 1, "none"),
    -213: ParticleData("rho-", 0.77511, -1, "none"),
    321: ParticleData("K+", 0.493677, 1, "hadron", 1.25),
    -321: ParticleData("K-", 0.493677, -1, "hadron", 1.25),
    130: ParticleData("K0L", 0.497611, 0, "hadron", 1.25),
    2212: ParticleData("p", 0.938272, 1, "hadron", 1.0, 1),
    -2212: ParticleData("pbar", 0.938272, -1, "hadron", 1.0, -1),
    2112: ParticleData("n", 0.939565, 0, "hadron", 1.0, 1),
    -2112: ParticleData("nbar", 0.939565, 0, "hadron", 1.0, -1),
}


_RHO_WIDTH = 0.1491
# Upper end of the rho line shape in GeV, the limit Pythia 8 uses. The p-wave
# width grows as q^3, so without a limit the tail reaches far up.
_RHO_MAX_MASS = 1.5
_PI0_MASS = PARTICLES[111].mass
_PION_MASS = PARTICLES[211].mass


@dataclass
class TruthRecord:
    """The truth particles of one event.

    Attributes:
        pdg_id: PDG id, int32 ``[num_particles]``.
        status: 1 for stable particles that reach the detector, 2 for decayed ones.
        momentum: ``(E, px, py, pz)`` in GeV, float64 ``[num_particles, 4]``.
        parent: Index of the parent particle, -1 for primaries.
    """

    pdg_id: np.ndarray
    status: np.ndarray
    momentum: np.ndarray
    parent: np.ndarray

    def __len__(self) -> int:
        return len(self.pdg_id)

    @property
    def pt(self) -> np.ndarray:
        """Transverse momentum in GeV."""
        return np.hypot(self.momentum[:, 1], self.momentum[:, 2])

    @property
    def eta(self) -> np.ndarray:
        """Pseudorapidity."""
        return np.arcsinh(self.momentum[:, 3] / np.maximum(self.pt, 1e-12))

    @property
    def phi(self) -> np.ndarray:
        """Azimuth in radians."""
        return np.arctan2(self.momentum[:, 2], self.momentum[:, 1])

    @property
    def mass(self) -> np.ndarray:
        """Invariant mass in GeV."""
        return invariant_mass(self.momentum)

    @property
    def charge(self) -> np.ndarray:
        """Charge in units of e."""
        return np.array([PARTICLES[int(p)].charge for p in self.pdg_id], dtype=np.int8)


class TruthBuilder:
    """Collects truth particles of one event in creation order."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, np.ndarray, int]] = []

    def add(self, pdg_id: int, momentum: np.ndarray, parent: int = -1, status: int = 1) -> int:
        self.rows.append((pdg_id, status, np.asarray(momentum, dtype=np.float64), parent))
        return len(self.rows) - 1

    def mark_decayed(self, index: int) -> None:
        pdg_id, _, momentum, parent = self.rows[index]
        self.rows[index] = (pdg_id, 2, momentum, parent)

    def build(self) -> TruthRecord:
        return TruthRecord(
            pdg_id=np.array([r[0] for r in self.rows], np.int32),
            status=np.array([r[1] for r in self.rows], np.int32),
            momentum=np.array([r[2] for r in self.rows], np.float64).reshape(-1, 4),
            parent=np.array([r[3] for r in self.rows], np.int32),
        )


def invariant_mass(momentum: np.ndarray) -> np.ndarray:
    """Return the invariant mass in GeV of four-momenta ``[..., 4]`` (0 where the square is negative)."""
    square = momentum[..., 0] ** 2 - np.sum(momentum[..., 1:] ** 2, axis=-1)
    return np.sqrt(np.maximum(square, 0.0))


def four_momentum(energy: float, mass: float, eta: float, phi: float) -> np.ndarray:
    """Return ``(E, px, py, pz)`` in GeV of a particle of energy and mass in GeV moving along (eta, phi)."""
    p = np.sqrt(max(energy * energy - mass * mass, 0.0))
    pt = p / np.cosh(eta)
    return np.array([energy, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)])


def _boost(momentum: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Boost rest-frame four-momenta ``[n, 4]`` into the frame where the parent has four-momentum ``parent``."""
    mass = invariant_mass(parent)
    beta = parent[1:] / parent[0]
    gamma = parent[0] / mass
    beta_square = float(beta @ beta)
    along = momentum[:, 1:] @ beta
    factor = np.where(beta_square > 0, (gamma - 1.0) * along / max(beta_square, 1e-300), 0.0) + gamma * momentum[:, 0]
    boosted = np.empty_like(momentum)
    boosted[:, 0] = gamma * (momentum[:, 0] + along)
    boosted[:, 1:] = momentum[:, 1:] + factor[:, None] * beta[None, :]
    return boosted


def two_body_decay(rng: np.random.Generator, parent: np.ndarray, mass_1: float, mass_2: float) -> tuple[np.ndarray, np.ndarray]:
    """Decay a particle isotropically in its rest frame into two daughters of the given masses (GeV).

    Returns the two daughters' four-momenta in the lab frame.
    """
    mass = float(invariant_mass(parent))
    momentum = np.sqrt(max((mass**2 - (mass_1 + mass_2) ** 2) * (mass**2 - (mass_1 - mass_2) ** 2), 0.0)) / (2.0 * mass)
    cos_theta = rng.uniform(-1.0, 1.0)
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    azimuth = rng.uniform(-np.pi, np.pi)
    direction = momentum * np.array([sin_theta * np.cos(azimuth), sin_theta * np.sin(azimuth), cos_theta])
    rest = np.array([[np.hypot(momentum, mass_1), *direction], [np.hypot(momentum, mass_2), *(-direction)]])
    lab = _boost(rest, np.asarray(parent, dtype=np.float64))
    return lab[0], lab[1]


@functools.lru_cache(maxsize=1)
def _rho_mass_table() -> tuple[np.ndarray, np.ndarray]:
    """Tabulate the cumulative distribution of the rho(770) -> pi pi line shape."""
    threshold = _PION_MASS + _PI0_MASS
    mass = np.linspace(threshold, _RHO_MAX_MASS, 20001)
    nominal = PARTICLES[213].mass

    def breakup(m):
        return np.sqrt(np.maximum((m**2 - (_PION_MASS + _PI0_MASS) ** 2) * (m**2 - (_PION_MASS - _PI0_MASS) ** 2), 0.0)) / (2.0 * m)

    # Relativistic p-wave Breit-Wigner with Gamma(m) = Gamma0 (q/q0)^3 (m0/m).
    width = _RHO_WIDTH * (breakup(mass) / breakup(nominal)) ** 3 * nominal / mass
    density = mass * nominal * width / ((mass**2 - nominal**2) ** 2 + (nominal * width) ** 2)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(mass))])
    return mass, cumulative / cumulative[-1]


def sample_rho_mass(rng: np.random.Generator, maximum: float = _RHO_MAX_MASS) -> float:
    """Draw a rho(770)+- mass in GeV from its p-wave Breit-Wigner line shape, below ``maximum`` (at most 1.5 GeV)."""
    mass, cumulative = _rho_mass_table()
    limit = float(np.interp(min(maximum, mass[-1]), mass, cumulative))
    return float(np.interp(rng.uniform(0.0, limit), cumulative, mass))


def decay_pi0(rng: np.random.Generator, builder: TruthBuilder, index: int) -> None:
    """Mark the pi0 at ``index`` as decayed and append its two photons."""
    # NOTE: the Dalitz decay pi0 -> e+ e- gamma (1.2 %) is not simulated; every pi0 gives two photons.
    builder.mark_decayed(index)
    photon_1, photon_2 = two_body_decay(rng, builder.rows[index][2], 0.0, 0.0)
    builder.add(22, photon_1, index)
    builder.add(22, photon_2, index)


def _primary_direction(rng: np.random.Generator, config) -> tuple[float, float, float]:
    """Draw the primary energy (log-uniform, GeV), eta and phi (uniform) from the configured ranges."""
    energy = float(np.exp(rng.uniform(np.log(config.energy_min_gev), np.log(config.energy_max_gev))))
    return energy, float(rng.uniform(config.eta_min, config.eta_max)), float(rng.uniform(config.phi_min, config.phi_max))


def generate_truth(rng: np.random.Generator, process: str, config) -> TruthRecord:
    """Generate the truth particles of one event.

    Args:
        rng: Random stream of the event.
        process: One of :data:`PROCESSES`.
        config: A :class:`~pflow_geo.simulation.config.SimulationConfig` (energy, eta and phi ranges).

    Raises:
        ValueError: For an unknown process.
    """
    builder = TruthBuilder()
    energy, eta, phi = _primary_direction(rng, config)
    sign = 1 if rng.uniform() < 0.5 else -1
    if process == "rho":
        mass = sample_rho_mass(rng, maximum=min(_RHO_MAX_MASS, 0.99 * energy))
        rho = builder.add(213 * sign, four_momentum(max(energy, mass * 1.0001), mass, eta, phi))
        builder.mark_decayed(rho)
        pion, pi0 = two_body_decay(rng, builder.rows[rho][2], _PION_MASS, _PI0_MASS)
        builder.add(211 * sign, pion, rho)
        decay_pi0(rng, builder, builder.add(111, pi0, rho))
    elif process in ("pion", "photon", "electron", "pi0"):
        pdg_id = {"pion": 211 * sign, "photon": 22, "electron": 11 * sign, "pi0": 111}[process]
        mass = PARTICLES[pdg_id].mass
        index = builder.add(pdg_id, four_momentum(max(energy, mass * 1.0001), mass, eta, phi))
        if pdg_id == 111:
            decay_pi0(rng, builder, index)
    elif process == "jet":
        from .jets import add_jet

        add_jet(rng, builder, energy, eta, phi)
    else:
        raise ValueError(f"unknown process {process!r}; choose one of {', '.join(PROCESSES)}")
    return builder.build()

