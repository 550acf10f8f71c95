"""Charged-particle trajectories in the solenoid, layer intersections and track reconstruction.

Trajectories start at the origin. Inside the field volume (r < 1200 mm,
|z| < 2900 mm, B = 2 T along +z) a particle of charge q follows a helix whose
azimuthal direction turns as ``psi(s) = phi0 - q * s / R`` with transverse
path length s and radius ``R[mm] = 1000 * pT[GeV] / (0.3 * B[T])``, so
positive particles move to smaller phi. Outside the field volume the path
is a straight line. Pseudorapidity of the direction never changes.

Track reconstruction smears (q/pT, phi0, cot theta, d0, z0) with the ATLAS
inner-detector resolutions ``sigma(pT) = sigma_inf * (1 (+) p_X / pT)``
(JINST 3 (2008) S08003). It then extrapolates the smeared track to the
reference surface of every layer. A multiple-scattering smear of
``3e-3 / p[GeV] (+) 3e-4`` (an estimate) shifts the (eta, phi) of all
intersections of a track together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import EXTRAPOLATION_LAYERS, SURFACES

__all__ = ["FIELD_TESLA", "Trajectory", "smear_tracks", "LAYER_COVERAGE", "SENTINEL"]

FIELD_TESLA = 2.0
FIELD_RADIUS_MM = 1200.0
FIELD_HALF_LENGTH_MM = 2900.0
# Value MLTree writes for a layer the track does not cross.
SENTINEL = -999999999.0
_CURVATURE_MM_PER_GEV = 1000.0 / (0.3 * FIELD_TESLA)


def _coverage() -> np.ndarray:
    from .layout import LAYERS

    by_sampling = {int(layer.sampling): (layer.eta_min, layer.eta_max) for layer in LAYERS}
    return np.array([by_sampling[int(layer)] for layer in EXTRAPOLATION_LAYERS])


# |eta| range covered by each of the 21 extrapolation layers, ``[21, 2]``.
LAYER_COVERAGE = _coverage()
_SURFACE_BARREL = np.array([SURFACES[layer].barrel for layer in EXTRAPOLATION_LAYERS])
_SURFACE_POSITION = np.array([SURFACES[layer].position for layer in EXTRAPOLATION_LAYERS])


@dataclass
class Trajectory:
    """Paths of particles from the origin, one per element of the input arrays.

    Args:
        pt: Transverse momentum in GeV.
        eta: Pseudorapidity of the momentum.
        phi: Azimuth of the momentum at the origin, radians.
        charge: Charge in units of e (0 for neutral particles).
    """

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    charge: np.ndarray

    def __post_init__(self) -> None:
        self.pt, self.eta, self.phi, self.charge = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (self.pt, self.eta, self.phi, self.charge))
        sinh = np.sinh(self.eta)
        # bend = q / R in 1/mm; zero for neutral particles.
        self._bend = self.charge / (_CURVATURE_MM_PER_GEV * np.maximum(self.pt, 1e-9))
        with np.errstate(divide="ignore", invalid="ignore"):
            through_z = np.where(np.abs(sinh) > 1e-12, FIELD_HALF_LENGTH_MM / np.abs(sinh), np.inf)
            half_radius = np.abs(self._bend) * FIELD_RADIUS_MM / 2.0
            through_r = np.where(half_radius <= 1.0, np.where(self._bend != 0, 2.0 * np.arcsin(np.minimum(half_radius, 1.0)) / np.abs(self._bend), FIELD_RADIUS_MM), np.inf)
        exit_length = np.minimum(through_r, through_z)

        # A looper that never leaves the field volume has no straight part.
        self.reaches_calorimeter = np.isfinite(exit_length)
        exit_length = np.where(self.reaches_calorimeter, exit_length, 0.0)
        self.exit_x, self.exit_y = self._helix_position(exit_length)
        self.exit_z = exit_length * sinh
        self.exit_direction = self.phi - self._bend * exit_length
        self._sinh = sinh

    def _helix_position(self, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bend = self._bend
        straight = np.abs(bend) < 1e-12
        safe = np.where(straight, 1.0, bend)
        x = np.where(straight, length * np.cos(self.phi), (np.sin(self.phi) - np.sin(self.phi - bend * length)) / safe)
        y = np.where(straight, length * np.sin(self.phi), (np.cos(self.phi - bend * length) - np.cos(self.phi)) / safe)
        return x, y

    def at_radius(self, radius: np.ndarray, which: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (eta, phi, valid) of the position where the straight part reaches a transverse radius in mm.

        ``radius`` broadcasts against the selected particles ``which``.
        """
        ux, uy = np.cos(self.exit_direction[which]), np.sin(self.exit_direction[which])
        px, py = self.exit_x[which], self.exit_y[which]
        along = px * ux + py * uy
        discriminant = along**2 - (px**2 + py**2) + radius**2
        valid = (discriminant >= 0) & self.reaches_calorimeter[which]
        t = np.maximum(-along + np.sqrt(np.maximum(discriminant, 0.0)), 0.0)
        x, y = px + t * ux, py + t * uy
        z = self.exit_z[which] + t * self._sinh[which]
        return np.arcsinh(z / np.maximum(np.hypot(x, y), 1e-9)), np.arctan2(y, x), valid

    def at_z(self, z: np.ndarray, which: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (eta, phi, valid) of the position where the straight part reaches ``|z|`` in mm on the particle's side."""
        sinh = self._sinh[which]
        signed_z = np.copysign(z, sinh)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (signed_z - self.exit_z[which]) / sinh
        valid = (np.abs(sinh) > 1e-12) & (t >= 0) & self.reaches_calorimeter[which]
        t = np.where(valid, t, 0.0)
        x = self.exit_x[which] + t * np.cos(self.exit_direction[which])
        y = self.exit_y[which] + t * np.sin(self.exit_direction[which])
        return np.arcsinh(signed_z / np.maximum(np.hypot(x, y), 1e-9)), np.arctan2(y, x), valid

    def layer_intersections(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (eta, phi) at the reference surface of the 21 extrapolation layers, ``[num, 21]`` each.

        A layer that is not reached, or reached outside its |eta| coverage, gets NaN.
        """
        radius = np.where(_SURFACE_BARREL, _SURFACE_POSITION, 1.0)[None, :]
        z = np.where(_SURFACE_BARREL, 1.0, _SURFACE_POSITION)[None, :]
        column = np.arange(len(self.pt))[:, None]
        eta_r, phi_r, valid_r = self.at_radius(radius, column)
        eta_z, phi_z, valid_z = self.at_z(z, column)
        eta = np.where(_SURFACE_BARREL, eta_r, eta_z)
        phi = np.where(_SURFACE_BARREL, phi_r, phi_z)
        valid = np.where(_SURFACE_BARREL, valid_r, valid_z)
        covered = (np.abs(eta) >= LAYER_COVERAGE[:, 0]) & (np.abs(eta) < LAYER_COVERAGE[:, 1])
        keep = valid & covered
        return np.where(keep, eta, np.nan), np.where(keep, phi, np.nan)


def _interpolate(abs_eta: np.ndarray, central: float, forward: float) -> np.ndarray:
    """Interpolate a resolution parameter between |eta| = 0.375 and 1.625 (the bins it is quoted in), clamped."""
    weight = np.clip((abs_eta - 0.375) / 1.25, 0.0, 1.0)
    return central + weight * (forward - central)


def _resolution(abs_eta, pt, central, forward):
    """Return ``sigma_inf * sqrt(1 + (p_X / pT)^2)`` for (sigma_inf, p_X) pairs given centrally and forward."""
    sigma = _interpolate(abs_eta, central[0], forward[0])
    momentum = _interpolate(abs_eta, central[1], forward[1])
    return sigma * np.sqrt(1.0 + (momentum / pt) ** 2)


def smear_tracks(rng: np.random.Generator, pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, charge: np.ndarray) -> dict[str, np.ndarray]:
    """Reconstruct tracks of charged particles from their true perigee parameters.

    Args:
        rng: Random stream of the event.
        pt, eta, phi, charge: True transverse momentum (GeV), pseudorapidity,
            azimuth (radians) and charge of each particle, ``[num_tracks]``.

    Returns:
        Dict with ``pt``, ``p`` (GeV), ``eta``, ``phi``, ``d0``, ``z0`` (mm),
        ``chi2``, ``ndof`` and ``layer_eta``, ``layer_phi`` (``[num_tracks, 21]``,
        NaN where a layer is not crossed).
    """
    abs_eta = np.abs(eta)
    num = len(pt)
    normal = rng.standard_normal((6, num))

    inverse_pt = charge / pt + normal[0] * _resolution(abs_eta, pt, (0.34e-3, 44.0), (0.41e-3, 80.0))
    reco_charge = np.where(inverse_pt >= 0, 1.0, -1.0)
    reco_pt = 1.0 / np.maximum(np.abs(inverse_pt), 1e-6)
    reco_phi = phi + normal[1] * _resolution(abs_eta, pt, (70e-6, 39.0), (92e-6, 49.0))
    reco_cot = np.sinh(eta) + normal[2] * _resolution(abs_eta, pt, (0.7e-3, 5.0), (1.2e-3, 10.0))
    reco_eta = np.arcsinh(reco_cot)
    sin_theta = 1.0 / np.cosh(eta)
    d0 = normal[3] * _resolution(abs_eta, pt, (0.010, 14.0), (0.012, 20.0))
    z0 = normal[4] * _resolution(abs_eta, pt, (0.091, 2.3), (0.071, 3.7)) / sin_theta

    layer_eta, layer_phi = Trajectory(reco_pt, reco_eta, reco_phi, reco_charge).layer_intersections()
    # Multiple scattering in the material before the calorimeter shifts all
    # layers of a track together.
    momentum = reco_pt * np.cosh(reco_eta)
    scatter = np.hypot(3e-3 / momentum, 3e-4)
    kick = rng.standard_normal((2, num)) * scatter
    layer_eta = layer_eta + kick[0][:, None]
    layer_phi = np.mod(layer_phi + kick[1][:, None] + np.pi, 2.0 * np.pi) - np.pi

    # Pixel (2 measurements per hit), SCT and TRT hits minus the 5 fitted parameters;
    # the TRT stops at |eta| = 2.
    pixel = rng.integers(3, 6, num)
    sct = rng.integers(7, 10, num)
    trt = np.where(abs_eta < 2.0, rng.integers(22, 36, num), 0)
    ndof = 2 * pixel + sct + trt - 5
    chi2 = rng.chisquare(ndof) * (1.0 + 0.1 * np.abs(normal[5]))
    return {
        "pt": reco_pt, "p": momentum, "eta": reco_eta, "phi": np.mod(reco_phi + np.pi, 2.0 * np.pi) - np.pi,
        "charge": reco_charge, "d0": d0, "z0": z0, "chi2": chi2, "ndof": ndof, "layer_eta": layer_eta, "layer_phi": layer_phi,
    }
