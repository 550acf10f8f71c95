"""The simulated cell grid: cell positions, identifiers, noise, lookup and the ``CellGeo`` branches.

Cells are stored in a fixed order: by sampling id, then negative eta before
positive eta, then granularity region, |eta| bin and phi bin. That order is
the row order of ``CellGeo``. Cell identifiers are 32-bit numbers that pack
the same indices (``cell_id`` below), so they are unique and stable.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np

from .layout import LAYERS, PILEUP_NOISE_MEV, Calorimeter, LayerSpec
from .neighbours import NeighbourTable, build_neighbours

__all__ = ["Detector", "RegionBlock", "get_detector", "cell_id", "LAYER_BY_SAMPLING"]

log = logging.getLogger(__name__)

LAYER_BY_SAMPLING: dict[int, LayerSpec] = {int(layer.sampling): layer for layer in LAYERS}


def cell_id(sampling, side, region, ieta, iphi):
    """Pack cell indices into a 32-bit identifier (uint64 array).

    Bits 27-31 hold sampling + 1, bit 26 the side (1 for positive eta), bits
    23-25 the granularity region, bits 12-22 the |eta| bin and bits 0-11 the
    phi bin.
    """
    as64 = lambda values: np.asarray(values, dtype=np.uint64)  # noqa: E731
    return (
        ((as64(sampling) + np.uint64(1)) << np.uint64(27))
        | (as64(np.asarray(side) > 0) << np.uint64(26))
        | (as64(region) << np.uint64(23))
        | (as64(ieta) << np.uint64(12))
        | as64(iphi)
    )


@dataclass(frozen=True)
class RegionBlock:
    """The cells of one granularity region on one side: rows ``start`` to ``start + num_eta * num_phi``."""

    sampling: int
    region: int
    side: int
    eta_min: float
    deta: float
    num_eta: int
    num_phi: int
    start: int

    @property
    def stop(self) -> int:
        """One past the last row of the block."""
        return self.start + self.num_eta * self.num_phi

    def signed_eta_bounds(self, ieta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the lower and upper signed eta edges of the cells in |eta| bin ``ieta``."""
        low = self.eta_min + ieta * self.deta
        high = low + self.deta
        return (low, high) if self.side > 0 else (-high, -low)


class Detector:
    """All cells of the simulated calorimeter, with their lookup table and neighbours.

    Attributes:
        blocks: The region blocks in row order.
        num_cells: Number of cells.
        sampling: ATLAS sampling id per cell, int16 ``[num_cells]``.
        side: -1 or +1 per cell, int8.
        ieta, iphi: Bin indices of the cell within its block, int32.
        eta, phi: Cell centre, float64 (radians for phi).
        deta, dphi: Cell size in eta and phi (radians).
        r_perp: Transverse radius of the cell centre in mm.
        x, y, z: Cartesian cell centre in mm.
        volume: Cell volume in mm^3.
        noise: Electronic noise sigma per cell, GeV (``CellGeo`` stores MeV).
        pileup_noise: Pile-up noise sigma per cell for the clustering thresholds, GeV.
        sampling_rows: Row range ``(start, stop)`` of each sampling's cells.
        calorimeter: :class:`Calorimeter` value per cell, int8.
        id: Cell identifiers, uint64.
        neighbours: Neighbour lists for topo-clustering and the MLTree neighbour branches.
    """

    def __init__(self, noise_scale: float = 1.0) -> None:
        blocks = []
        start = 0
        for layer in sorted(LAYERS, key=lambda spec: int(spec.sampling)):
            for side in (-1, 1):
                for index, region in enumerate(layer.regions):
                    block = RegionBlock(int(layer.sampling), index, side, region.eta_min, region.deta, region.num_eta, region.num_phi, start)
                    blocks.append(block)
                    start = block.stop
        self.blocks: tuple[RegionBlock, ...] = tuple(blocks)
        self.num_cells = start
        self._threshold_noise: dict[float, np.ndarray] = {}
        self._fill_cells(noise_scale)
        self._build_lookup()
        self.neighbours: NeighbourTable = build_neighbours(self)
        log.debug("built %d cells with %d neighbour pairs", self.num_cells, len(self.neighbours.indices))

    def _fill_cells(self, noise_scale: float) -> None:
        columns: dict[str, list[np.ndarray]] = {name: [] for name in ("sampling", "side", "region", "ieta", "iphi", "eta_low", "eta_high", "deta", "dphi")}
        for block in self.blocks:
            ieta, iphi = np.divmod(np.arange(block.num_eta * block.num_phi), block.num_phi)
            low, high = block.signed_eta_bounds(ieta)
            size = len(ieta)
            columns["sampling"].append(np.full(size, block.sampling, np.int16))
            columns["side"].append(np.full(size, block.side, np.int8))
            columns["region"].append(np.full(size, block.region, np.int16))
            columns["ieta"].append(ieta.astype(np.int32))
            columns["iphi"].append(iphi.astype(np.int32))
            columns["eta_low"].append(low)
            columns["eta_high"].append(high)
            columns["deta"].append(np.full(size, block.deta))
            columns["dphi"].append(np.full(size, 2.0 * np.pi / block.num_phi))
        data = {name: np.concatenate(values) for name, values in columns.items()}

        self.sampling = data["sampling"]
        self.side = data["side"]
        self.ieta = data["ieta"]
        self.iphi = data["iphi"]
        self.eta_low = data["eta_low"]
        self.eta_high = data["eta_high"]
        self.deta = data["deta"]
        self.dphi = data["dphi"]
        self.eta = 0.5 * (self.eta_low + self.eta_high)
        self.phi = -np.pi + (self.iphi + 0.5) * self.dphi
        self.id = cell_id(self.sampling, self.side, data["region"], self.ieta, self.iphi)

        lookup = np.zeros((24, 4))
        for sampling, layer in LAYER_BY_SAMPLING.items():
            lookup[sampling] = (layer.inner, layer.outer, float(layer.barrel), layer.noise_mev)
        inner, outer, barrel, noise_mev = (lookup[self.sampling, k] for k in range(4))
        barrel = barrel.astype(bool)
        abs_eta = np.abs(self.eta)
        cosh, sinh = np.cosh(abs_eta), np.sinh(abs_eta)

        # Projective cells: the barrel volume is dphi*deta*cosh(eta)*(r2^3-r1^3)/3,
        # the end-cap volume dphi*deta*cosh(eta)/sinh(eta)^3*(z2^3-z1^3)/3.
        self.r_perp = np.where(barrel, 0.5 * (inner + outer), 0.5 * (inner + outer) / np.maximum(sinh, 1e-9))
        cube = (outer**3 - inner**3) / 3.0
        self.volume = self.dphi * self.deta * cosh * np.where(barrel, cube, cube / np.maximum(sinh, 1e-9) ** 3)
        self.x = self.r_perp * np.cos(self.phi)
        self.y = self.r_perp * np.sin(self.phi)
        self.z = self.r_perp * np.sinh(self.eta)

        self.noise = noise_mev * 1e-3 * noise_scale
        pileup = np.zeros(24)
        for sampling, value in PILEUP_NOISE_MEV.items():
            pileup[int(sampling)] = value * 1e-3
        self.pileup_noise = pileup[self.sampling]

        starts = np.flatnonzero(np.diff(self.sampling, prepend=-1))
        stops = np.append(starts[1:], len(self.sampling))
        self.sampling_rows = {int(self.sampling[start]): (int(start), int(stop)) for start, stop in zip(starts, stops)}

        calorimeter_lookup = np.full(24, int(Calorimeter.DEAD), np.int8)
        for sampling, layer in LAYER_BY_SAMPLING.items():
            calorimeter_lookup[sampling] = int(layer.calorimeter)
        self.calorimeter = calorimeter_lookup[self.sampling]

    def _build_lookup(self) -> None:
        # One row per region with the start rows of both sides. Rows are sorted
        # by sampling * 8 + eta_min (|eta| < 8), so a searchsorted on that key finds the region.
        positive = [block for block in self.blocks if block.side > 0]
        negative = {(block.sampling, block.region): block for block in self.blocks if block.side < 0}
        self._lookup_key = np.array([b.sampling * 8.0 + b.eta_min for b in positive])
        self._lookup_sampling = np.array([b.sampling for b in positive])
        self._lookup_eta_max = np.array([b.eta_min + b.num_eta * b.deta for b in positive])
        self._lookup_eta_min = np.array([b.eta_min for b in positive])
        self._lookup_deta = np.array([b.deta for b in positive])
        self._lookup_num_eta = np.array([b.num_eta for b in positive])
        self._lookup_num_phi = np.array([b.num_phi for b in positive])
        self._lookup_start = np.array([[negative[(b.sampling, b.region)].start, b.start] for b in positive], dtype=np.int64)

    def find_cells(self, sampling: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Return the row of the cell containing each point, or -1 where the sampling has no cell there.

        Args:
            sampling: Sampling id per point, ``[num_points]`` int.
            eta: Signed pseudorapidity per point.
            phi: Azimuth per point in radians (any range).

        Returns:
            Cell rows, int64 ``[num_points]``.
        """
        sampling = np.asarray(sampling)
        abs_eta = np.abs(eta)
        region = np.searchsorted(self._lookup_key, sampling * 8.0 + abs_eta, side="right") - 1
        region = np.clip(region, 0, len(self._lookup_key) - 1)
        inside = (self._lookup_sampling[region] == sampling) & (abs_eta >= self._lookup_eta_min[region]) & (abs_eta < self._lookup_eta_max[region])

        ieta = np.minimum(((abs_eta - self._lookup_eta_min[region]) / self._lookup_deta[region]).astype(np.int64), self._lookup_num_eta[region] - 1)
        num_phi = self._lookup_num_phi[region]
        iphi = np.floor((np.asarray(phi) + np.pi) * (num_phi / (2.0 * np.pi))).astype(np.int64) % num_phi
        start = self._lookup_start[region, (np.asarray(eta) >= 0).astype(np.int64)]
        return np.where(inside, start + ieta * num_phi + iphi, -1)

    def threshold_noise(self, pileup_noise_scale: float) -> np.ndarray:
        """Return the clustering noise per cell in GeV: electronic and scaled pile-up noise in quadrature."""
        cached = self._threshold_noise.get(pileup_noise_scale)
        if cached is None:
            cached = self._threshold_noise[pileup_noise_scale] = np.hypot(self.noise, pileup_noise_scale * self.pileup_noise)
        return cached

    def cell_geo(self) -> dict[str, np.ndarray]:
        """Return the ``CellGeo`` branches, one value per cell, with MLTree types and units (noise in MeV)."""
        branches = {
            "cell_geo_ID": self.id,
            "cell_geo_sampling": self.sampling.astype(np.uint16),
            "cell_geo_eta": self.eta.astype(np.float32),
            "cell_geo_phi": self.phi.astype(np.float32),
            "cell_geo_rPerp": self.r_perp.astype(np.float32),
            "cell_geo_deta": self.deta.astype(np.float32),
            "cell_geo_dphi": self.dphi.astype(np.float32),
            "cell_geo_volume": self.volume.astype(np.float32),
            "cell_geo_sigma": (self.noise * 1e3).astype(np.float32),
        }
        branches.update({name: values.astype(np.int32) for name, values in self.neighbours.single.items()})
        return branches


@functools.lru_cache(maxsize=4)
def get_detector(noise_scale: float = 1.0) -> Detector:
    """Return the detector for a noise scale, built once per process (about a second)."""
    return Detector(noise_scale)
