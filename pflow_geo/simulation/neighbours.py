"""Cell neighbours of the simulated calorimeter ("super3D" as in ATLAS topo-clustering).

Two cells are neighbours when

* they are in the same sampling and their (eta, phi) rectangles touch, on a
  side or a corner (the 8 surrounding cells on a regular grid, more where the
  granularity changes), or
* their rectangles overlap and they are in adjacent samplings of the same
  calorimeter (``InSamp``), or
* their rectangles overlap and they are in the same depth of neighbouring
  sub-detectors (``SubDet``): barrel and end-cap EM in the transition region,
  or the Tile barrel, extended barrel and gap cells (these may also touch), or
* their rectangles overlap across the EM to hadronic boundary
  (``SuperCalo``: EMB3 to Tile, EME3 to HEC0).

Presampler cells only neighbour the presamplers and the first EM layer, as
with ATLAS's ``RestrictPSNeighbors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..geometry import Sampling

if TYPE_CHECKING:  # pragma: no cover
    from .detector import Detector, RegionBlock

__all__ = ["NeighbourTable", "build_neighbours", "NEIGHBOUR_BRANCHES"]

_S = Sampling
_TILE_A = (_S.TileBar0, _S.TileExt0, _S.TileGap3)
_TILE_BC = (_S.TileBar1, _S.TileExt1, _S.TileGap1)
_TILE_D = (_S.TileBar2, _S.TileExt2, _S.TileGap2)

# (inner or lower-|eta| sampling, outer or higher-|eta| sampling, minimum |eta| of the link).
_IN_SAMPLING = [
    (_S.PreSamplerB, _S.EMB1, 0.0), (_S.EMB1, _S.EMB2, 0.0), (_S.EMB2, _S.EMB3, 0.0),
    (_S.PreSamplerE, _S.EME1, 0.0), (_S.EME1, _S.EME2, 0.0), (_S.EME2, _S.EME3, 0.0),
    (_S.HEC0, _S.HEC1, 0.0), (_S.HEC1, _S.HEC2, 0.0), (_S.HEC2, _S.HEC3, 0.0),
    *[(a, b, 0.0) for a in _TILE_A for b in _TILE_BC],
    *[(a, b, 0.0) for a in _TILE_BC for b in _TILE_D],
]
_SUB_DETECTOR_OVERLAP = [(_S.PreSamplerB, _S.PreSamplerE, 0.0), (_S.EMB1, _S.EME1, 0.0), (_S.EMB2, _S.EME2, 0.0), (_S.EMB3, _S.EME3, 0.0)]
_SUB_DETECTOR_TOUCH = [
    (_S.TileBar0, _S.TileGap3, 0.0), (_S.TileGap3, _S.TileExt0, 0.0), (_S.TileBar0, _S.TileExt0, 0.0),
    (_S.TileBar1, _S.TileGap1, 0.0), (_S.TileGap1, _S.TileExt1, 0.0), (_S.TileBar1, _S.TileExt1, 0.0),
    (_S.TileBar2, _S.TileGap2, 0.0), (_S.TileGap2, _S.TileExt2, 0.0), (_S.TileBar2, _S.TileExt2, 0.0),
]
# EME2 links to HEC0 only where there is no EME3 behind it (the inner wheel).
_SUPER_CALO = [(_S.EMB3, _S.TileBar0, 0.0), (_S.EMB3, _S.TileExt0, 0.0), (_S.EMB3, _S.TileGap3, 0.0), (_S.EME3, _S.HEC0, 0.0), (_S.EME2, _S.HEC0, 2.5)]

NEIGHBOUR_BRANCHES = (
    "cell_geo_prevInPhi", "cell_geo_nextInPhi", "cell_geo_prevInEta", "cell_geo_nextInEta",
    "cell_geo_prevInSamp", "cell_geo_nextInSamp", "cell_geo_prevSubDet", "cell_geo_nextSubDet",
    "cell_geo_prevSuperCalo", "cell_geo_nextSuperCalo",
)

# Margin that decides "touch" (intervals grown by it overlap) and "overlap"
# (intervals shrunk by it still overlap); far below the smallest cell size.
_EPSILON = 1e-6


@dataclass(frozen=True)
class NeighbourTable:
    """Neighbours of every cell.

    Attributes:
        indptr: CSR row pointers, int64 ``[num_cells + 1]``.
        indices: Neighbour rows, int32; the neighbours of cell ``i`` are
            ``indices[indptr[i]:indptr[i + 1]]``, sorted.
        single: The MLTree ``cell_geo_prev*``/``cell_geo_next*`` branches: the
            row of the neighbour of that kind, -1 unless there is exactly one.
    """

    indptr: np.ndarray
    indices: np.ndarray
    single: dict[str, np.ndarray]

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(source, neighbour)`` pairs for all neighbours of ``rows``, sources in the order given."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.indptr[rows]
        counts = self.indptr[rows + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return rows[:0], rows[:0]
        source = np.repeat(rows, counts)
        offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        return source, self.indices[np.repeat(starts, counts) + offsets].astype(np.int64)


def build_neighbours(detector: Detector) -> NeighbourTable:
    """Compute the neighbour lists and the single-neighbour branches of all cells."""
    by_sampling: dict[int, list[RegionBlock]] = {}
    for block in detector.blocks:
        by_sampling.setdefault(block.sampling, []).append(block)
    num_cells = detector.num_cells

    # Same sampling: touching rectangles.
    lateral = [_sampling_pairs(detector, blocks, blocks, _EPSILON) for blocks in by_sampling.values()]
    lateral_a = np.concatenate([a for a, _ in lateral])
    lateral_b = np.concatenate([b for _, b in lateral])
    distinct = lateral_a != lateral_b
    lateral_a, lateral_b = lateral_a[distinct], lateral_b[distinct]

    single = {name: np.full(num_cells, -1, np.int64) for name in NEIGHBOUR_BRANCHES}
    _fill_phi_neighbours(detector, single)
    _fill_eta_neighbours(detector, lateral_a, lateral_b, single)

    sources, targets = [lateral_a], [lateral_b]
    kinds = [("InSamp", _IN_SAMPLING, -_EPSILON), ("SubDet", _SUB_DETECTOR_OVERLAP, -_EPSILON), ("SubDet", _SUB_DETECTOR_TOUCH, _EPSILON), ("SuperCalo", _SUPER_CALO, -_EPSILON)]
    links: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"InSamp": [], "SubDet": [], "SuperCalo": []}
    for kind, pairs, margin in kinds:
        for inner, outer, min_abs_eta in pairs:
            a, b = _sampling_pairs(detector, by_sampling[int(inner)], by_sampling[int(outer)], margin)
            keep = np.abs(detector.eta[a]) >= min_abs_eta
            a, b = a[keep], b[keep]
            links[kind].append((a, b))
            sources += [a, b]
            targets += [b, a]
    for kind, parts in links.items():
        inner_rows = np.concatenate([a for a, _ in parts])
        outer_rows = np.concatenate([b for _, b in parts])
        _set_if_unique(single[f"cell_geo_next{kind}"], inner_rows, outer_rows)
        _set_if_unique(single[f"cell_geo_prev{kind}"], outer_rows, inner_rows)

    source = np.concatenate(sources)
    target = np.concatenate(targets)
    key = np.sort(source * num_cells + target)
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    source, target = np.divmod(key, num_cells)
    indptr = np.zeros(num_cells + 1, np.int64)
    np.cumsum(np.bincount(source, minlength=num_cells), out=indptr[1:])
    return NeighbourTable(indptr=indptr, indices=target.astype(np.int32), single=single)


def _sampling_pairs(detector: Detector, blocks_a: list, blocks_b: list, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Return all (row in A, row in B) pairs whose rectangles, grown by ``margin`` (negative shrinks), overlap."""
    found_a, found_b = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for block_a in blocks_a:
        for block_b in blocks_b:
            a, b = _block_pairs(block_a, block_b, margin)
            found_a.append(a)
            found_b.append(b)
    return np.concatenate(found_a), np.concatenate(found_b)


def _block_pairs(block_a: RegionBlock, block_b: RegionBlock, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the overlapping (row in A, row in B) pairs of two region blocks."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    # Eta: the range of B's |eta| bins met by each of A's |eta| bins.
    low, high = block_a.signed_eta_bounds(np.arange(block_a.num_eta))
    low, high = low - margin, high + margin
    if block_b.side < 0:
        low, high = -high, -low
    first = np.maximum(np.floor((low - block_b.eta_min) / block_b.deta), 0).astype(np.int64)
    last = np.minimum(np.ceil((high - block_b.eta_min) / block_b.deta) - 1, block_b.num_eta - 1).astype(np.int64)
    eta_count = np.where((high > low) & (last >= first), last - first + 1, 0)
    if not eta_count.any():
        return empty

    # Phi: the range of B's phi bins met by each of A's phi bins, wrapping around.
    dphi_a, dphi_b = 2.0 * np.pi / block_a.num_phi, 2.0 * np.pi / block_b.num_phi
    phi_low = np.arange(block_a.num_phi) * dphi_a - margin
    phi_high = phi_low + dphi_a + 2.0 * margin
    phi_first = np.floor(phi_low / dphi_b).astype(np.int64)
    phi_count = np.minimum(np.ceil(phi_high / dphi_b).astype(np.int64) - phi_first, block_b.num_phi)

    # Every (A cell, B cell) combination: A's eta bin x phi bin, times the counts.
    ieta_a, iphi_a = np.divmod(np.arange(block_a.num_eta * block_a.num_phi), block_a.num_phi)
    per_cell = eta_count[ieta_a] * phi_count[iphi_a]
    total = int(per_cell.sum())
    if total == 0:
        return empty
    rows_a = block_a.start + np.repeat(np.arange(len(per_cell)), per_cell)
    offset = np.arange(total) - np.repeat(np.cumsum(per_cell) - per_cell, per_cell)
    phi_span = np.repeat(phi_count[iphi_a], per_cell)
    ieta_b = np.repeat(first[ieta_a], per_cell) + offset // phi_span
    iphi_b = (np.repeat(phi_first[iphi_a], per_cell) + offset % phi_span) % block_b.num_phi
    return rows_a, block_b.start + ieta_b * block_b.num_phi + iphi_b


def _fill_phi_neighbours(detector: Detector, single: dict[str, np.ndarray]) -> None:
    rows = np.arange(detector.num_cells)
    num_phi = np.rint(2.0 * np.pi / detector.dphi).astype(np.int64)
    base = rows - detector.iphi
    single["cell_geo_prevInPhi"][:] = base + (detector.iphi - 1) % num_phi
    single["cell_geo_nextInPhi"][:] = base + (detector.iphi + 1) % num_phi


def _fill_eta_neighbours(detector: Detector, a: np.ndarray, b: np.ndarray, single: dict[str, np.ndarray]) -> None:
    """Set prevInEta/nextInEta from same-sampling pairs that share a phi range and touch in eta."""
    dphi = np.abs(np.mod(detector.phi[a] - detector.phi[b] + np.pi, 2.0 * np.pi) - np.pi)
    phi_overlap = dphi < 0.5 * (detector.dphi[a] + detector.dphi[b]) - _EPSILON
    below = phi_overlap & (np.abs(detector.eta_high[b] - detector.eta_low[a]) < _EPSILON)
    above = phi_overlap & (np.abs(detector.eta_low[b] - detector.eta_high[a]) < _EPSILON)
    _set_if_unique(single["cell_geo_prevInEta"], a[below], b[below])
    _set_if_unique(single["cell_geo_nextInEta"], a[above], b[above])


def _set_if_unique(target: np.ndarray, rows: np.ndarray, neighbour: np.ndarray) -> None:
    """Set ``target[row] = neighbour`` for rows with exactly one neighbour, leave -1 elsewhere."""
    counts = np.bincount(rows, minlength=len(target))
    unique = counts[rows] == 1
    target[rows[unique]] = neighbour[unique]
