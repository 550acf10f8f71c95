"""Layer tables of the simulated ATLAS-like calorimeter: granularity, depth, material and noise.

Every calorimeter layer is a set of projective cells on a regular grid in
(|eta|, phi) per granularity region, mirrored at negative eta. Barrel layers
are cylindrical shells between two radii, end-cap layers are discs between
two |z| values (lengths in mm). Depths are given for a particle crossing the
layer at normal incidence, in radiation lengths X0 and nuclear interaction
lengths lambda_I; the path through a layer grows as cosh(eta) in the barrel
and as 1/tanh|eta| in the end-caps.

The granularity follows the ATLAS LAr identifier helpers (LArEM_ID.h,
LArHEC_ID.h) and, for Tile, the ATLAS detector paper (JINST 3 (2008) S08003).
The depths are the ATLAS design values (EMB 4.3/16/2 X0, Tile 1.5/4.1/1.8
lambda_I). The noise values are per-layer choices within the range of the
COCOA and Lorenzetti ATLAS-like models, not ATLAS measurements. Each layer's
extent contains the reference surface that ``pflow_geo.geometry.SURFACES``
gives for it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..geometry import Sampling

__all__ = ["Calorimeter", "Region", "LayerSpec", "DeadSpec", "LAYERS", "DEAD_MATERIAL", "PILEUP_NOISE_MEV", "front_material_x0", "FRONT_LAMBDA_PER_X0"]


class Calorimeter(enum.IntEnum):
    """Technology of a layer; it sets the hadronic and MIP response and the shower widths."""

    DEAD = -1
    LAR_EM = 0
    TILE = 1
    HEC = 2


@dataclass(frozen=True)
class Region:
    """A region of uniform granularity: ``num_eta`` cells of ``deta`` from ``eta_min``, ``num_phi`` cells in phi."""

    eta_min: float
    eta_max: float
    deta: float
    num_phi: int

    @property
    def num_eta(self) -> int:
        """Number of cells in |eta| on one side."""
        return int(round((self.eta_max - self.eta_min) / self.deta))


@dataclass(frozen=True)
class LayerSpec:
    """One calorimeter sampling.

    Attributes:
        sampling: ATLAS sampling id.
        regions: Granularity regions in increasing |eta|, each mirrored at negative eta.
        barrel: True for a shell at fixed radius, False for discs at fixed |z|.
        inner, outer: Radius (barrel) or |z| (end-cap) extent in mm.
        depth_x0: Depth in radiation lengths at normal incidence.
        depth_lambda: Depth in nuclear interaction lengths at normal incidence.
        calorimeter: Technology of the layer.
        mip_mev: Energy a minimum-ionising particle deposits in the layer at normal incidence, MeV.
        noise_mev: Gaussian electronic noise per cell at EM scale, MeV.
    """

    sampling: Sampling
    regions: tuple[Region, ...]
    barrel: bool
    inner: float
    outer: float
    depth_x0: float
    depth_lambda: float
    calorimeter: Calorimeter
    mip_mev: float
    noise_mev: float

    @property
    def eta_min(self) -> float:
        """Lowest |eta| covered."""
        return self.regions[0].eta_min

    @property
    def eta_max(self) -> float:
        """Highest |eta| covered."""
        return self.regions[-1].eta_max


@dataclass(frozen=True)
class DeadSpec:
    """Inactive material between layers: cryostats, cables, supports.

    Attributes:
        name: What the material is, for logs.
        barrel, inner, outer: Extent as for :class:`LayerSpec`, mm.
        eta_min, eta_max: |eta| range it covers.
        depth_x0, depth_lambda: Depth at normal incidence.
        mip_mev: MIP energy loss in it at normal incidence, MeV.
    """

    name: str
    barrel: bool
    inner: float
    outer: float
    eta_min: float
    eta_max: float
    depth_x0: float
    depth_lambda: float
    mip_mev: float


# The accordion mixture: X0 about 20 mm, lambda_I about 400 mm, so one X0 is
# 0.05 lambda_I; a MIP loses about 10 MeV per X0 in it.
_LAR_LAMBDA_PER_X0 = 0.05
_LAR_MIP_PER_X0 = 10.4
# Steel/scintillator (Tile) and copper/LAr (HEC): about 9.5 X0 and 205 MeV of MIP loss per lambda_I.
_HAD_X0_PER_LAMBDA = 9.5
_HAD_MIP_PER_LAMBDA = 205.0


def _em(sampling, regions, barrel, inner, outer, depth_x0, noise_mev, mip_per_x0=_LAR_MIP_PER_X0):
    return LayerSpec(
        sampling, tuple(Region(*r) for r in regions), barrel, inner, outer, depth_x0,
        depth_x0 * _LAR_LAMBDA_PER_X0, Calorimeter.LAR_EM, depth_x0 * mip_per_x0, noise_mev,
    )


def _had(sampling, regions, barrel, inner, outer, depth_lambda, calorimeter, noise_mev):
    return LayerSpec(
        sampling, tuple(Region(*r) for r in regions), barrel, inner, outer, depth_lambda * _HAD_X0_PER_LAMBDA,
        depth_lambda, calorimeter, depth_lambda * _HAD_MIP_PER_LAMBDA, noise_mev,
    )


_TILE, _HEC = Calorimeter.TILE, Calorimeter.HEC
_S = Sampling
_PHI64, _PHI256 = 64, 256
_HEC_REGIONS = ((1.5, 2.5, 0.1, _PHI64), (2.5, 3.3, 0.2, 32))

LAYERS: tuple[LayerSpec, ...] = (
    # The presamplers are 11 mm of LAr without absorber, so a MIP deposits about 2 MeV.
    _em(_S.PreSamplerB, [(0.0, 1.525, 0.025, _PHI64)], True, 1410.0, 1435.0, 0.08, 40.0, mip_per_x0=30.0),
    _em(_S.EMB1, [(0.0, 1.4, 0.025 / 8, _PHI64), (1.4, 1.475, 0.025, _PHI256)], True, 1480.0, 1585.0, 4.3, 20.0),
    _em(_S.EMB2, [(0.0, 1.4, 0.025, _PHI256), (1.4, 1.475, 0.075, _PHI256)], True, 1585.0, 1860.0, 16.0, 40.0),
    _em(_S.EMB3, [(0.0, 1.35, 0.05, _PHI256)], True, 1860.0, 1985.0, 2.0, 30.0),
    _em(_S.PreSamplerE, [(1.5, 1.8, 0.025, _PHI64)], False, 3600.0, 3630.0, 0.08, 40.0, mip_per_x0=30.0),
    _em(
        _S.EME1,
        [
            (1.375, 1.425, 0.05, _PHI64),
            (1.425, 1.5, 0.025, _PHI64),
            (1.5, 1.8, 0.025 / 8, _PHI64),
            (1.8, 2.0, 0.025 / 6, _PHI64),
            (2.0, 2.4, 0.025 / 4, _PHI64),
            (2.4, 2.5, 0.025, _PHI64),
            (2.5, 3.2, 0.1, _PHI64),
        ],
        False, 3700.0, 3860.0, 4.4, 20.0,
    ),
    _em(
        _S.EME2,
        [(1.375, 1.425, 0.05, _PHI256), (1.425, 2.5, 0.025, _PHI256), (2.5, 3.2, 0.1, _PHI64)],
        False, 3860.0, 4110.0, 17.0, 40.0,
    ),
    _em(_S.EME3, [(1.5, 2.5, 0.05, _PHI256)], False, 4110.0, 4280.0, 4.0, 30.0),
    _had(_S.HEC0, _HEC_REGIONS, False, 4330.0, 4590.0, 1.5, _HEC, 200.0),
    _had(_S.HEC1, _HEC_REGIONS, False, 4590.0, 5150.0, 2.9, _HEC, 250.0),
    _had(_S.HEC2, [(1.6, 2.5, 0.1, _PHI64), (2.5, 3.3, 0.2, 32)], False, 5150.0, 5700.0, 2.7, _HEC, 300.0),
    _had(_S.HEC3, [(1.7, 2.5, 0.1, _PHI64), (2.5, 3.3, 0.2, 32)], False, 5700.0, 6110.0, 2.4, _HEC, 350.0),
    _had(_S.TileBar0, [(0.0, 1.0, 0.1, _PHI64)], True, 2300.0, 2600.0, 1.5, _TILE, 25.0),
    _had(_S.TileBar1, [(0.0, 0.9, 0.1, _PHI64)], True, 2600.0, 3440.0, 4.1, _TILE, 25.0),
    _had(_S.TileBar2, [(0.0, 0.8, 0.2, _PHI64)], True, 3440.0, 3820.0, 1.8, _TILE, 35.0),
    # ITC cells C10 (TileGap1) and D4 (TileGap2) and the gap scintillators E1-E4 (TileGap3).
    _had(_S.TileGap1, [(0.9, 1.0, 0.1, _PHI64)], True, 2600.0, 3440.0, 2.0, _TILE, 30.0),
    _had(_S.TileGap2, [(0.8, 1.0, 0.2, _PHI64)], True, 3440.0, 3820.0, 1.8, _TILE, 35.0),
    _had(_S.TileGap3, [(1.0, 1.6, 0.1, _PHI64)], True, 2200.0, 2290.0, 0.1, _TILE, 40.0),
    _had(_S.TileExt0, [(1.1, 1.6, 0.1, _PHI64)], True, 2300.0, 2600.0, 1.5, _TILE, 25.0),
    _had(_S.TileExt1, [(1.0, 1.5, 0.1, _PHI64)], True, 2600.0, 3140.0, 2.6, _TILE, 25.0),
    _had(_S.TileExt2, [(1.0, 1.6, 0.2, _PHI64)], True, 3140.0, 3820.0, 3.3, _TILE, 35.0),
)

# Pile-up noise per cell at EM scale in MeV for Run-2-like conditions (mean mu
# about 30 to 40). These are estimates that follow the known pattern: pile-up
# noise dominates in EME2 and HEC, is comparable to the electronic noise in
# EMB2 and the Tile A and BC layers, and is small in the fine EMB1 strips. It
# enters only the clustering thresholds, because ATLAS topo-clustering uses
# the total noise even for single-particle MC.
PILEUP_NOISE_MEV: dict[Sampling, float] = {
    _S.PreSamplerB: 50.0, _S.EMB1: 10.0, _S.EMB2: 40.0, _S.EMB3: 20.0,
    _S.PreSamplerE: 60.0, _S.EME1: 20.0, _S.EME2: 70.0, _S.EME3: 40.0,
    _S.HEC0: 250.0, _S.HEC1: 250.0, _S.HEC2: 300.0, _S.HEC3: 300.0,
    _S.TileBar0: 25.0, _S.TileBar1: 20.0, _S.TileBar2: 10.0,
    _S.TileGap1: 20.0, _S.TileGap2: 10.0, _S.TileGap3: 40.0,
    _S.TileExt0: 25.0, _S.TileExt1: 20.0, _S.TileExt2: 10.0,
}

DEAD_MATERIAL: tuple[DeadSpec, ...] = (
    DeadSpec("barrel presampler to accordion", True, 1435.0, 1480.0, 0.0, 1.6, 0.5, 0.03, 15.0),
    DeadSpec("barrel cryostat back wall", True, 1985.0, 2200.0, 0.0, 1.7, 2.0, 0.2, 60.0),
    DeadSpec("end-cap cryostat front", False, 3630.0, 3700.0, 1.375, 3.3, 0.3, 0.02, 10.0),
    DeadSpec("end-cap EM to HEC", False, 4280.0, 4330.0, 1.5, 3.3, 1.0, 0.1, 25.0),
)

# Material in front of the presamplers (inner detector, solenoid, cryostat),
# in X0 along the particle's path, against |eta|; it peaks in the barrel to
# end-cap transition.
_FRONT_ETA = np.array([0.0, 0.5, 1.0, 1.3, 1.45, 1.6, 1.8, 2.2, 2.5, 3.3])
_FRONT_X0 = np.array([2.0, 2.3, 3.0, 4.2, 5.5, 5.0, 3.8, 3.0, 2.8, 2.8])
# Inner-detector and cryostat material has about 0.15 lambda_I per X0; a MIP
# loses about 35 MeV per X0 in it (silicon, aluminium).
FRONT_LAMBDA_PER_X0 = 0.15
FRONT_MIP_PER_X0 = 35.0


def front_material_x0(abs_eta: np.ndarray | float) -> np.ndarray:
    """Return the material in front of the calorimeter in X0 along the path, for |eta|."""
    return np.interp(abs_eta, _FRONT_ETA, _FRONT_X0)
