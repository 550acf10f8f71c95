"""Energy deposits ("spots") of one event and the per-particle energy ledger.

Showers are generated as spots. A spot has a depth along the particle's path
(a segment of its material stack and a fraction through it), a lateral
offset in mm from the shower axis, its deposited energy and the EM-scale
signal it produces. The deposited energy ("truth") is the total
calibration-hit energy, visible plus invisible. The collector places spots in
(sampling, eta, phi) and books the energy that ends in dead material or leaks
out of the back; the cell binning takes the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .material import Stack
from .tracking import Trajectory

__all__ = ["ShowerAxis", "DepositCollector", "Deposits"]


@dataclass
class ShowerAxis:
    """Shower axis of a particle: its direction from the origin, or its trajectory for charged particles.

    Attributes:
        eta, phi: Direction at the origin (radians).
        trajectory: The charged particle's path, or None for a straight line from the origin.
    """

    eta: float
    phi: float
    trajectory: Trajectory | None = None

    def position(self, barrel: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (eta, phi, r_perp in mm) of the axis at path distances in mm from the origin.

        Barrel segments are placed at transverse radius ``distance / cosh(eta)``,
        end-cap segments at ``|z| = distance * |tanh(eta)|``.
        """
        cosh = np.cosh(self.eta)
        r_perp = distance / cosh
        if self.trajectory is None:
            return np.full(len(distance), self.eta), np.full(len(distance), self.phi), r_perp
        eta_r, phi_r, _ = self.trajectory.at_radius(r_perp, 0)
        eta_z, phi_z, _ = self.trajectory.at_z(distance * abs(np.tanh(self.eta)), 0)
        return np.where(barrel, eta_r, eta_z), np.where(barrel, phi_r, phi_z), r_perp


@dataclass
class Deposits:
    """Spots that landed in calorimeter layers, ``[num_spots]`` each.

    Attributes:
        sampling: Sampling id, int64.
        eta, phi: Position (phi in radians).
        truth: Deposited (calibration-hit) energy in GeV.
        signal: EM-scale signal in GeV.
        particle: Index of the truth particle that caused the spot.
    """

    sampling: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    truth: np.ndarray
    signal: np.ndarray
    particle: np.ndarray


class DepositCollector:
    """Collects spots of all particles of an event and books the energy that does not reach a cell.

    Attributes:
        dead: Energy per truth particle deposited in dead material, GeV.
        leaked: Energy per truth particle that leaves the back of the calorimeter, GeV.
        missed: Energy per truth particle that never reaches a calorimeter layer
            (loopers, |eta| beyond the coverage), GeV.
    """

    def __init__(self, num_particles: int) -> None:
        self._parts: list[tuple[np.ndarray, ...]] = []
        self.dead = np.zeros(num_particles)
        self.leaked = np.zeros(num_particles)
        self.missed = np.zeros(num_particles)

    def add(
        self,
        stack: Stack,
        axis: ShowerAxis,
        particle: int,
        segment: np.ndarray,
        fraction: np.ndarray,
        lateral_x: np.ndarray,
        lateral_y: np.ndarray,
        truth: np.ndarray,
        signal: np.ndarray,
    ) -> None:
        """Place spots of one particle.

        Args:
            stack: The particle's material stack.
            axis: The particle's shower axis.
            particle: Truth index of the particle.
            segment: Stack segment of each spot; ``len(stack)`` means beyond the last layer.
            fraction: Position through the segment, 0 to 1.
            lateral_x, lateral_y: Offset from the axis in mm along phi and along eta.
            truth: Deposited energy per spot in GeV.
            signal: EM-scale signal per spot in GeV.
        """
        beyond = segment >= len(stack)
        self.leaked[particle] += truth[beyond].sum()
        segment = np.minimum(segment, len(stack) - 1)
        sampling = stack.sampling[segment]
        dead = (sampling < 0) & ~beyond
        self.dead[particle] += truth[dead].sum()
        keep = ~beyond & ~dead
        if not keep.any():
            return

        segment = segment[keep]
        axis_eta, axis_phi, r_perp = axis.position(stack.barrel[segment], stack.distance(segment, fraction[keep]))
        eta = axis_eta + lateral_y[keep] / r_perp
        phi = axis_phi + lateral_x[keep] / r_perp
        self._parts.append((sampling[keep], eta, phi, truth[keep], signal[keep], np.full(len(eta), particle)))

    def deposits(self) -> Deposits:
        """Return all collected spots."""
        if not self._parts:
            empty = np.zeros(0)
            return Deposits(empty.astype(np.int64), empty, empty, empty, empty, empty.astype(np.int64))
        columns = [np.concatenate(values) for values in zip(*self._parts)]
        return Deposits(columns[0].astype(np.int64), columns[1], columns[2], columns[3], columns[4], columns[5].astype(np.int64))
