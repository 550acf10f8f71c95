"""ATLAS calorimeter samplings, track-extrapolation layers and coordinate helpers.

Lengths are in mm and angles in radians throughout. Every function is built
from numpy ufuncs, so it accepts numpy arrays, awkward arrays (jagged or not)
and Python scalars, and returns the same kind of object.

The sampling numbering follows ATLAS ``CaloSampling`` (the values stored in
``CellGeo.cell_geo_sampling``). The reference surfaces are the fixed radii
(barrel) and fixed ``|z|`` (end-cap) used by the ATLAS ML4Pions and
JetPointNet point-cloud studies; they approximate where a track crosses each
layer and are not the exact ATLAS geometry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Sampling",
    "Surface",
    "SURFACES",
    "EXTRAPOLATION_LAYERS",
    "TRACK_LAYERS",
    "BARREL_SAMPLINGS",
    "ENDCAP_SAMPLINGS",
    "SENTINEL_THRESHOLD",
    "wrap_phi",
    "delta_phi",
    "delta_r",
    "eta_to_theta",
    "theta_to_eta",
    "cylindrical_to_cartesian",
    "cartesian_to_cylindrical",
    "eta_phi_z_to_cartesian",
    "layer_intersections",
]


class Sampling(enum.IntEnum):
    """ATLAS calorimeter sampling ids, as stored in ``cell_geo_sampling``."""

    PreSamplerB = 0
    EMB1 = 1
    EMB2 = 2
    EMB3 = 3
    PreSamplerE = 4
    EME1 = 5
    EME2 = 6
    EME3 = 7
    HEC0 = 8
    HEC1 = 9
    HEC2 = 10
    HEC3 = 11
    TileBar0 = 12
    TileBar1 = 13
    TileBar2 = 14
    TileGap1 = 15
    TileGap2 = 16
    TileGap3 = 17
    TileExt0 = 18
    TileExt1 = 19
    TileExt2 = 20
    FCAL0 = 21
    FCAL1 = 22
    FCAL2 = 23

    @property
    def is_barrel(self) -> bool:
        """Whether the layer is a cylinder at fixed r (else a disc at fixed |z|)."""
        return self in BARREL_SAMPLINGS


BARREL_SAMPLINGS = frozenset(
    {
        Sampling.PreSamplerB,
        Sampling.EMB1,
        Sampling.EMB2,
        Sampling.EMB3,
        Sampling.TileBar0,
        Sampling.TileBar1,
        Sampling.TileBar2,
        Sampling.TileGap1,
        Sampling.TileGap2,
        Sampling.TileGap3,
        Sampling.TileExt0,
        Sampling.TileExt1,
        Sampling.TileExt2,
    }
)
ENDCAP_SAMPLINGS = frozenset(set(Sampling) - BARREL_SAMPLINGS)

# The 21 samplings with ``trackEta_<name>``/``trackPhi_<name>`` branches in
# MLTree files (every sampling but FCAL), in sampling-id order.
EXTRAPOLATION_LAYERS: tuple[Sampling, ...] = tuple(s for s in Sampling if s <= Sampling.TileExt2)

# The 19 of them used for point clouds: the presamplers are left out, as in
# the ATLAS point-cloud studies.
TRACK_LAYERS: tuple[Sampling, ...] = tuple(
    s for s in EXTRAPOLATION_LAYERS if s not in (Sampling.PreSamplerB, Sampling.PreSamplerE)
)

# Layer extrapolations below this value are the "no intersection" sentinel,
# which MLTree writes as -999999999 (stored as float32 -1e9).
SENTINEL_THRESHOLD = -1.0e5


@dataclass(frozen=True)
class Surface:
    """Reference surface of one layer: a cylinder of radius ``r`` or a pair of discs at ``±z``.

    Attributes:
        sampling: The layer.
        barrel: True for a cylinder at fixed r, False for discs at fixed |z|.
        position: The radius (barrel) or |z| (end-cap), in mm.
    """

    sampling: Sampling
    barrel: bool
    position: float


# Barrel radii and end-cap |z| in mm. The values for the 19 track layers are
# those of the JetPointNet ``track_metadata.py`` constants; the presampler
# values are the ATLAS ``CaloDepthTool`` ones (PreSamplerB r = 1422.3 mm,
# PreSamplerE |z| = 3600 mm). FCAL has no extrapolation branches and no entry.
_SURFACE_POSITIONS_MM: dict[Sampling, float] = {
    Sampling.PreSamplerB: 1422.3,
    Sampling.EMB1: 1532.18,
    Sampling.EMB2: 1723.89,
    Sampling.EMB3: 1923.02,
    Sampling.PreSamplerE: 3600.0,
    Sampling.EME1: 3790.03,
    Sampling.EME2: 3983.68,
    Sampling.EME3: 4195.84,
    Sampling.HEC0: 4461.25,
    Sampling.HEC1: 4869.5,
    Sampling.HEC2: 5424.5,
    Sampling.HEC3: 5905.0,
    Sampling.TileBar0: 2450.0,
    Sampling.TileBar1: 2995.0,
    Sampling.TileBar2: 3630.0,
    Sampling.TileGap1: 3215.0,
    Sampling.TileGap2: 3630.0,
    Sampling.TileGap3: 2246.5,
    Sampling.TileExt0: 2450.0,
    Sampling.TileExt1: 2870.0,
    Sampling.TileExt2: 3480.0,
}

SURFACES: dict[Sampling, Surface] = {
    sampling: Surface(sampling, sampling in BARREL_SAMPLINGS, position)
    for sampling, position in _SURFACE_POSITIONS_MM.items()
}


def wrap_phi(phi: Any) -> Any:
    """Wrap an azimuth in radians into (-pi, pi]."""
    wrapped = np.mod(phi + np.pi, 2.0 * np.pi) - np.pi
    # np.mod maps +pi to -pi; move that edge to +pi so the interval is (-pi, pi].
    return _where(wrapped <= -np.pi, wrapped + 2.0 * np.pi, wrapped)


def delta_phi(phi1: Any, phi2: Any) -> Any:
    """Return ``phi1 - phi2`` in radians, wrapped into (-pi, pi]."""
    return wrap_phi(phi1 - phi2)


def delta_r(eta1: Any, phi1: Any, eta2: Any, phi2: Any) -> Any:
    """Return the angular distance ``sqrt(deta**2 + dphi**2)`` with dphi wrapped into (-pi, pi]."""
    deta = eta1 - eta2
    dphi = delta_phi(phi1, phi2)
    return np.sqrt(deta * deta + dphi * dphi)


def eta_to_theta(eta: Any) -> Any:
    """Convert pseudorapidity to the polar angle theta in radians."""
    return 2.0 * np.arctan(np.exp(-eta))


def theta_to_eta(theta: Any) -> Any:
    """Convert the polar angle theta in radians to pseudorapidity."""
    return -np.log(np.tan(0.5 * theta))


def cylindrical_to_cartesian(eta: Any, phi: Any, r: Any) -> tuple[Any, Any, Any]:
    """Convert (eta, phi in radians, transverse radius r in mm) to (x, y, z) in mm.

    The point lies on the line of sight at pseudorapidity ``eta`` from the
    origin, so ``z = r * sinh(eta)``.
    """
    return r * np.cos(phi), r * np.sin(phi), r * np.sinh(eta)


def cartesian_to_cylindrical(x: Any, y: Any, z: Any) -> tuple[Any, Any, Any]:
    """Convert (x, y, z) in mm to (eta, phi in radians, transverse radius r in mm).

    ``eta = asinh(z / r)``; a point on the beam axis (r = 0) gets an infinite
    eta with the sign of z.
    """
    r = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(z / r)
    return eta, np.arctan2(y, x), r


def eta_phi_z_to_cartesian(eta: Any, phi: Any, z: Any) -> tuple[Any, Any, Any]:
    """Convert (eta, phi in radians, |z| in mm) to (x, y, z) in mm on an end-cap disc.

    The disc sits at ``+|z|`` for positive eta and at ``-|z|`` for negative
    eta; ``z`` is taken as a magnitude. ``eta = 0`` never crosses a disc and
    gives an infinite radius. A NaN eta gives NaN for all three coordinates.
    """
    # copysign would take the sign of a NaN eta and return a finite z.
    signed_z = _where(np.isnan(eta), np.nan, np.copysign(np.abs(z), eta))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = signed_z / np.sinh(eta)
    return r * np.cos(phi), r * np.sin(phi), signed_z


def layer_intersections(layer_eta: Any, layer_phi: Any, sampling: Sampling | int) -> tuple[Any, Any, Any]:
    """Place a track's extrapolated (eta, phi) on one layer's reference surface.

    Args:
        layer_eta: Pseudorapidity of the intersections with the layer, of any shape.
            Values below ``SENTINEL_THRESHOLD`` mark a missing intersection.
        layer_phi: Azimuth of the intersections in radians, same shape.
        sampling: The layer, as a ``Sampling`` or its integer id.

    Returns:
        ``(x, y, z)`` in mm, each of the input's shape, NaN where the
        intersection is missing (sentinel or NaN input).

    Raises:
        ValueError: If the sampling has no reference surface (FCAL).
    """
    sampling = Sampling(sampling)
    surface = SURFACES.get(sampling)
    if surface is None:
        known = ", ".join(s.name for s in SURFACES)
        raise ValueError(f"sampling {sampling.name} has no reference surface; known layers: {known}")

    missing = (layer_eta < SENTINEL_THRESHOLD) | (layer_phi < SENTINEL_THRESHOLD) | np.isnan(layer_eta) | np.isnan(layer_phi)
    eta = _where(missing, np.nan, layer_eta)
    phi = _where(missing, np.nan, layer_phi)
    if surface.barrel:
        return cylindrical_to_cartesian(eta, phi, surface.position)
    return eta_phi_z_to_cartesian(eta, phi, surface.position)


def _where(condition: Any, x: Any, y: Any) -> Any:
    """Apply ``np.where``, returning a numpy scalar instead of a 0-d array for scalar inputs."""
    result = np.where(condition, x, y)
    if isinstance(result, np.ndarray) and result.ndim == 0:
        return result[()]
    return result
