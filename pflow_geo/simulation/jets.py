"""Jet-like events: several hadrons and photons spread around a common axis.

This is not a parton shower. It is meant to put other tracks and neutral
energy (photons, neutrons, K0L) next to each charged hadron, as in jets. The
multiplicity grows logarithmically with the jet energy, the energy is shared
with a Dirichlet distribution (a few leading particles), and each particle
leaves the axis at an angle ``kT / p`` with an exponentially distributed
transverse momentum ``kT`` (mean 0.6 GeV).
"""

from __future__ import annotations

import numpy as np

from .particles import PARTICLES, TruthBuilder, decay_pi0

__all__ = ["add_jet", "JET_SPECIES"]

# Species and their shares among jet constituents (pi0 decay to two photons;
# "22" stands for photons from other decays such as eta -> gamma gamma).
JET_SPECIES: dict[int, float] = {
    211: 0.21, -211: 0.21, 111: 0.28, 321: 0.04, -321: 0.04, 130: 0.06,
    2212: 0.03, -2212: 0.03, 2112: 0.03, -2112: 0.03, 22: 0.04,
}
_IDS = np.array(list(JET_SPECIES))
_SHARES = np.array(list(JET_SPECIES.values())) / sum(JET_SPECIES.values())
_MAX_ANGLE = 0.5


def _unit_vectors(eta: float, phi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the unit vector along (eta, phi) and two unit vectors perpendicular to it."""
    theta = 2.0 * np.arctan(np.exp(-eta))
    axis = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    first = np.array([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta)])
    return axis, first, np.cross(axis, first)


def add_jet(rng: np.random.Generator, builder: TruthBuilder, energy: float, eta: float, phi: float) -> None:
    """Append the particles of a jet of ``energy`` GeV along (eta, phi) to ``builder``; pi0s are decayed."""
    multiplicity = 2 + rng.poisson(2.2 * np.log1p(energy / 2.0))
    species = rng.choice(_IDS, size=multiplicity, p=_SHARES)
    shares = rng.dirichlet(np.full(multiplicity, 0.7))
    axis, first, second = _unit_vectors(eta, phi)

    kt = rng.exponential(0.6, multiplicity)
    azimuth = rng.uniform(-np.pi, np.pi, multiplicity)
    for pdg_id, share, transverse, turn in zip(species, shares, kt, azimuth):
        pdg_id = int(pdg_id)
        mass = PARTICLES[pdg_id].mass
        particle_energy = max(share * energy, mass + 0.2)
        momentum = np.sqrt(particle_energy**2 - mass**2)
        angle = min(transverse / momentum, _MAX_ANGLE)
        direction = np.cos(angle) * axis + np.sin(angle) * (np.cos(turn) * first + np.sin(turn) * second)
        index = builder.add(pdg_id, np.concatenate([[particle_energy], momentum * direction]))
        if pdg_id == 111:
            decay_pi0(rng, builder, index)
