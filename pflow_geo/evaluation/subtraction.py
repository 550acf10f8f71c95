"""Rule-based cell subtraction baseline in the spirit of ATLAS particle flow.

The algorithm is modelled on the cell-by-cell subtraction of ATLAS particle
flow ("Jet reconstruction and performance using particle flow with the ATLAS
Detector", EPJC 77 (2017) 466), reduced to the cells of one cloud and to a 0/1
decision per cell:

1. Within each event, tracks are processed in descending pT. A cell taken by a
   higher-pT track (matched across clouds by ``cell_id``) is not available to
   the later ones. Clouds belong to the same event when they share
   ``event_number`` and ``entry``.
2. The expected deposit is ``E_exp = <E/p> * p`` with ``p = pT * cosh(eta)``,
   and its spread is ``sigma_exp = sigma(E/p) * p``. ``<E/p>`` and ``sigma(E/p)``
   are the mean and standard deviation, over the training clouds in the
   track's momentum bin, of ``sum(cell energy * frac_focus) / p``: the EM-scale
   energy of the focus particle inside the cloud over the track momentum.
3. Whole-cluster rule: the matched cluster is the cluster whose available cells
   have the smallest energy-weighted mean angular distance to the track. When
   its available energy ``E_cl`` satisfies ``|E_cl - E_exp| < 1.64 sigma_exp``,
   all its available cells are taken and nothing else.
4. Otherwise cells are taken ring by ring. Each layer is cut into rings of the
   ATLAS thickness for that layer around the focus track's intersection with
   it (:data:`RING_THICKNESS`). All (layer, ring) pairs are visited in
   descending order of the focus-particle energy density measured on the
   training clouds, which interleaves the layers as ATLAS does. Within a ring,
   cells go by increasing distance. A cell is taken while at least half of its
   energy is still expected (``E_cell <= 2 * remaining``), and the remaining
   expectation drops by ``E_cell``. The first cell that fails this test ends
   the track's subtraction, as does a remaining expectation of zero or less.

The distance of a cell to the track is its angular distance to the focus
track's intersection with the cell's layer, or the cloud's ``delta_r`` where
the cloud has no intersection in that layer.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from torch_geometric.data import Data

from ..geometry import Sampling
from .cells import CloudCells, as_cells

__all__ = ["RING_THICKNESS", "CellSubtraction"]

logger = logging.getLogger(__name__)

# Ring thickness in ΔR per sampling. The EM, HEC and Tile values are those of
# ATLAS athena, Reconstruction/eflowRec/src/eflowRingThicknesses.cxx.
_EM1 = 0.0491122
_EM2 = 0.0175171
_EM3 = 0.0278496
_HAD = 0.0700683
_TILE3 = 0.111398
# NOTE: ATLAS defines no rings for the presamplers, the Tile gap layers or the
# FCal. Ours: presamplers take the EM1 value, TileGap1 and TileGap3 the
# HEC/Tile value, TileGap2 the third Tile layer's, and FCal 0.1414, the
# diagonal of a 0.1 x 0.1 cell.
_FCAL = 0.1414
RING_THICKNESS: dict[int, float] = {
    Sampling.PreSamplerB: _EM1,
    Sampling.EMB1: _EM1,
    Sampling.EMB2: _EM2,
    Sampling.EMB3: _EM3,
    Sampling.PreSamplerE: _EM1,
    Sampling.EME1: _EM1,
    Sampling.EME2: _EM2,
    Sampling.EME3: _EM3,
    Sampling.HEC0: _HAD,
    Sampling.HEC1: _HAD,
    Sampling.HEC2: _HAD,
    Sampling.HEC3: _HAD,
    Sampling.TileBar0: _HAD,
    Sampling.TileBar1: _HAD,
    Sampling.TileBar2: _TILE3,
    Sampling.TileGap1: _HAD,
    Sampling.TileGap2: _TILE3,
    Sampling.TileGap3: _HAD,
    Sampling.TileExt0: _HAD,
    Sampling.TileExt1: _HAD,
    Sampling.TileExt2: _TILE3,
    Sampling.FCAL0: _FCAL,
    Sampling.FCAL1: _FCAL,
    Sampling.FCAL2: _FCAL,
}


class CellSubtraction:
    """Cell subtraction with an E/p template and rings ordered by energy density.

    See the module docstring for the algorithm.

    Args:
        momentum_edges: Inner edges of the track-momentum bins of ``<E/p>``, in
            GeV, increasing. The defaults are three of the energy-bin values
            of the ATLAS E/p tables (athena eflowRec eflowCellEOverPTool:
            1, 3.5, 10, 25, 32.5 and 40 GeV).
        min_tracks_per_bin: A bin with fewer training tracks than this uses the
            mean and spread of all training tracks.
        cluster_sigma: Half-width, in units of ``sigma_exp``, of the window in
            which the matched cluster is taken whole. The default 1.64 admits
            90% of Gaussian fluctuations of the deposit.
        ring_thickness: Ring thickness in ΔR per sampling id.

    Attributes:
        e_over_p_mean: ``<E/p>`` per momentum bin, set by :meth:`fit`.
        e_over_p_std: ``sigma(E/p)`` per momentum bin, set by :meth:`fit`.
        ring_order: The (layer, ring) pairs seen in training, in the order
            they are visited (pairs not seen in training follow, inner rings first).
        ring_density: Mean focus-particle energy per training track in each
            (layer, ring), over the ring's area in ΔR², in GeV.
    """

    def __init__(
        self,
        momentum_edges: Sequence[float] = (3.5, 10.0, 25.0),
        min_tracks_per_bin: int = 10,
        cluster_sigma: float = 1.64,
        ring_thickness: dict[int, float] | None = None,
    ) -> None:
        edges = np.asarray(momentum_edges, dtype=np.float64)
        if edges.ndim != 1 or np.any(np.diff(edges) <= 0) or np.any(edges <= 0):
            raise ValueError(f"momentum_edges must be positive and increasing, got {list(momentum_edges)}")
        if min_tracks_per_bin < 1:
            raise ValueError(f"min_tracks_per_bin must be at least 1, got {min_tracks_per_bin}")
        if not cluster_sigma >= 0:
            raise ValueError(f"cluster_sigma must be non-negative, got {cluster_sigma}")
        self.momentum_edges = edges
        self.min_tracks_per_bin = min_tracks_per_bin
        self.cluster_sigma = cluster_sigma
        self.ring_thickness = dict(RING_THICKNESS if ring_thickness is None else ring_thickness)
        self.e_over_p_mean: np.ndarray | None = None
        self.e_over_p_std: np.ndarray | None = None
        self.ring_order: list[tuple[int, int]] = []
        self.ring_density: dict[tuple[int, int], float] = {}

    def fit(self, train_clouds: Iterable[Data | CloudCells]) -> CellSubtraction:
        """Measure ``<E/p>``, its spread and the ring energy densities on training clouds.

        Raises:
            ValueError: If no training cloud has a track with positive momentum.
        """
        cells_list = [cells for cells in as_cells(train_clouds) if cells.track_p > 0]
        if not cells_list:
            raise ValueError("no training cloud has a track with positive momentum; cannot measure <E/p>")

        momentum = np.array([cells.track_p for cells in cells_list])
        e_over_p = np.array([np.sum(cells.energy * cells.frac_focus) / cells.track_p for cells in cells_list])
        bins = np.digitize(momentum, self.momentum_edges)
        num_bins = len(self.momentum_edges) + 1
        self.e_over_p_mean = np.full(num_bins, e_over_p.mean())
        self.e_over_p_std = np.full(num_bins, e_over_p.std())
        for index in range(num_bins):
            in_bin = bins == index
            if in_bin.sum() >= self.min_tracks_per_bin:
                self.e_over_p_mean[index] = e_over_p[in_bin].mean()
                self.e_over_p_std[index] = e_over_p[in_bin].std()

        focus_energy: dict[tuple[int, int], float] = defaultdict(float)
        for cells in cells_list:
            rings = self._ring_index(cells)
            for layer, ring, energy in zip(cells.layer, rings, cells.energy * cells.frac_focus):
                focus_energy[(int(layer), int(ring))] += float(energy)
        self.ring_density = {
            (layer, ring): energy / len(cells_list) / self._ring_area(layer, ring)
            for (layer, ring), energy in focus_energy.items()
        }
        self.ring_order = sorted(self.ring_density, key=self._ring_sort_key)
        logger.info(
            "cell subtraction fitted on %d tracks: <E/p> per momentum bin %s, sigma %s",
            len(cells_list),
            np.round(self.e_over_p_mean, 3).tolist(),
            np.round(self.e_over_p_std, 3).tolist(),
        )
        return self

    def expected_deposit(self, momentum: float) -> tuple[float, float]:
        """Return the expected focus-particle energy and its spread, in GeV, for a track momentum in GeV."""
        if self.e_over_p_mean is None or self.e_over_p_std is None:
            raise RuntimeError("CellSubtraction is not fitted; call fit(train_clouds) first")
        if not momentum > 0:
            return 0.0, 0.0
        index = int(np.digitize(momentum, self.momentum_edges))
        return float(self.e_over_p_mean[index] * momentum), float(self.e_over_p_std[index] * momentum)

    def predict(self, clouds: Iterable[Data | CloudCells]) -> list[np.ndarray]:
        """Assign cells to each cloud's focus track.

        Args:
            clouds: Clouds to evaluate; all clouds of an event must be passed
                together, since higher-pT tracks claim cells first.

        Returns:
            One float32 array per cloud, in input order, with one value per
            point: 1 for cells assigned to the focus track, 0 elsewhere.
        """
        cells_list = as_cells(clouds)
        events: dict[tuple[int, int], list[int]] = defaultdict(list)
        for number, cells in enumerate(cells_list):
            events[(cells.event_number, cells.entry)].append(number)

        outputs = [np.zeros(cells.num_points, dtype=np.float32) for cells in cells_list]
        for numbers in events.values():
            numbers.sort(key=lambda number: (-cells_list[number].track_pt, cells_list[number].track_index))
            taken_ids: set[int] = set()
            for number in numbers:
                cells = cells_list[number]
                available = np.array([cell_id not in taken_ids for cell_id in cells.cell_id.tolist()], dtype=bool)
                chosen = self._subtract(cells, available)
                taken_ids.update(cells.cell_id[chosen].tolist())
                outputs[number][cells.point_index[chosen]] = 1.0
        return outputs

    def _subtract(self, cells: CloudCells, available: np.ndarray) -> np.ndarray:
        """Choose the cells of one track among the available ones; returns a boolean mask over its cells."""
        chosen = np.zeros(cells.num_cells, dtype=bool)
        expected, spread = self.expected_deposit(cells.track_p)
        if expected <= 0 or not available.any():
            return chosen

        cluster = self._matched_cluster(cells, available)
        if cluster is not None:
            in_cluster = available & (cells.cluster == cluster)
            if abs(cells.energy[in_cluster].sum() - expected) < self.cluster_sigma * spread:
                return in_cluster

        rings = self._ring_index(cells)
        order = sorted(
            np.flatnonzero(available).tolist(),
            key=lambda cell: (
                self._ring_sort_key((int(cells.layer[cell]), int(rings[cell]))),
                cells.delta_r_layer[cell],
                cells.cell_id[cell],
            ),
        )
        remaining = expected
        for cell in order:
            energy = cells.energy[cell]
            if remaining <= 0 or energy > 2.0 * remaining:
                break
            chosen[cell] = True
            remaining -= energy
        return chosen

    def _matched_cluster(self, cells: CloudCells, available: np.ndarray) -> int | None:
        """Return the cluster with the smallest energy-weighted mean distance to the track, or None."""
        best_cluster, best_distance = None, math.inf
        clusters = np.unique(cells.cluster[available & (cells.cluster >= 0)])
        for cluster in clusters.tolist():
            members = available & (cells.cluster == cluster)
            energy = cells.energy[members]
            if energy.sum() <= 0:
                continue
            distance = float(np.sum(energy * cells.delta_r_layer[members]) / energy.sum())
            if distance < best_distance:
                best_cluster, best_distance = cluster, distance
        return best_cluster

    def _ring_index(self, cells: CloudCells) -> np.ndarray:
        thickness = np.array([self._thickness(layer) for layer in cells.layer.tolist()])
        return np.floor(cells.delta_r_layer / thickness).astype(np.int64)

    def _ring_area(self, layer: int, ring: int) -> float:
        thickness = self._thickness(layer)
        return math.pi * thickness * thickness * (2 * ring + 1)

    def _ring_sort_key(self, layer_ring: tuple[int, int]) -> tuple[float, int, int]:
        # Densest first; rings never seen in training (density 0) go inner first, then by layer id.
        layer, ring = layer_ring
        return (-self.ring_density.get(layer_ring, 0.0), ring, layer)

    def _thickness(self, layer: int) -> float:
        try:
            return self.ring_thickness[layer]
        except KeyError:
            raise ValueError(
                f"no ring thickness for sampling id {layer}; known ids: {sorted(self.ring_thickness)}"
            ) from None
