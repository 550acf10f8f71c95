"""Topo-cluster splitting at local maxima, with shared border cells (ATLAS CaloTopoClusterSplitter).

A local maximum is a cell with E > 500 MeV, at least 4 neighbours inside the
cluster and no neighbour inside the cluster with more energy. Maxima in the
primary samplings (EMB2, EMB3, EME2, EME3) always count. Maxima in the
secondary samplings (EMB1, EME1, Tile, HEC) count only when they do not
overlap in (eta, phi) with a primary maximum. A cluster with two or more
maxima is regrown from them, in rounds, using only its own cells and no
thresholds. A cell reached in the same round from two maxima is shared:
its weights are ``w1 = E1 / (E1 + r E2)`` and ``w2 = 1 - w1`` with
``r = exp((d1 - d2) / 50 mm)``, where E_i is the energy of split cluster i
and d_i the distance of the cell from its centroid. Shared cells do not grow.
"""

from __future__ import annotations

import numpy as np

from ..geometry import Sampling

__all__ = ["split_cluster", "PRIMARY_SAMPLINGS", "SECONDARY_SAMPLINGS"]

_S = Sampling
PRIMARY_SAMPLINGS = frozenset({_S.EMB2, _S.EMB3, _S.EME2, _S.EME3, _S.FCAL0})
SECONDARY_SAMPLINGS = frozenset({
    _S.EMB1, _S.EME1, _S.TileBar0, _S.TileBar1, _S.TileBar2, _S.TileExt0, _S.TileExt1, _S.TileExt2,
    _S.HEC0, _S.HEC1, _S.HEC2, _S.HEC3, _S.FCAL1, _S.FCAL2,
})
_PRIMARY = np.zeros(32, bool)
_PRIMARY[list(PRIMARY_SAMPLINGS)] = True
_SECONDARY = np.zeros(32, bool)
_SECONDARY[list(SECONDARY_SAMPLINGS)] = True


def _local_index(sorted_rows: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (position in sorted_rows, whether the row is there)."""
    position = np.minimum(np.searchsorted(sorted_rows, rows), len(sorted_rows) - 1)
    return position, sorted_rows[position] == rows


def _local_maxima(rows, energy, detector, neighbours, energy_cut, min_neighbours) -> np.ndarray:
    """Return the positions (into ``rows``) of the accepted local maxima, by decreasing energy."""
    sampling = detector.sampling[rows]
    candidates = np.flatnonzero((energy > energy_cut) & (_PRIMARY[sampling] | _SECONDARY[sampling]))
    if len(candidates) < 2:
        return candidates

    order = np.argsort(rows)
    sorted_rows = rows[order]
    _, neighbour = neighbours.of(rows[candidates])
    position, inside = _local_index(sorted_rows, neighbour)
    # Pairs come in candidate order, each candidate's neighbours together.
    pair_counts = neighbours.indptr[rows[candidates] + 1] - neighbours.indptr[rows[candidates]]
    candidate_of_pair = np.repeat(np.arange(len(candidates)), pair_counts)
    count = np.bincount(candidate_of_pair[inside], minlength=len(candidates))
    highest = np.full(len(candidates), -np.inf)
    np.maximum.at(highest, candidate_of_pair[inside], energy[order[position[inside]]])
    is_maximum = (count >= min_neighbours) & (highest <= energy[candidates])
    maxima = candidates[is_maximum]

    primary = maxima[_PRIMARY[sampling[maxima]]]
    secondary = maxima[~_PRIMARY[sampling[maxima]]]
    if len(primary) and len(secondary):
        a, b = rows[secondary][:, None], rows[primary][None, :]
        deta = np.abs(detector.eta[a] - detector.eta[b])
        dphi = np.abs(np.mod(detector.phi[a] - detector.phi[b] + np.pi, 2.0 * np.pi) - np.pi)
        overlap = (deta < 0.5 * (detector.deta[a] + detector.deta[b])) & (dphi < 0.5 * (detector.dphi[a] + detector.dphi[b]))
        secondary = secondary[~overlap.any(axis=1)]
    maxima = np.concatenate([primary, secondary])
    return maxima[np.argsort(-energy[maxima], kind="stable")]


def split_cluster(
    rows: np.ndarray,
    energy: np.ndarray,
    detector,
    neighbours,
    energy_cut: float = 0.5,
    min_neighbours: int = 4,
    shower_scale_mm: float = 50.0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split one topo-cluster at its local maxima.

    Args:
        rows: Cell rows of the cluster.
        energy: Cell energies in GeV, aligned with ``rows``.
        detector: Provides ``sampling``, ``eta``, ``phi``, ``deta``, ``dphi`` and ``x``, ``y``, ``z`` (mm) per row.
        neighbours: Provides ``of(rows)`` as for topo-clustering.
        energy_cut: Minimum energy of a local maximum, GeV.
        min_neighbours: Minimum number of neighbours of a maximum inside the cluster.
        shower_scale_mm: Length scale of the sharing weights.

    Returns:
        ``(rows, weights)`` per resulting cluster; a cluster with fewer than two
        maxima is returned unchanged with unit weights.
    """
    rows = np.asarray(rows, dtype=np.int64)
    energy = np.asarray(energy, dtype=np.float64)
    maxima = _local_maxima(rows, energy, detector, neighbours, energy_cut, min_neighbours)
    if len(maxima) < 2:
        return [(rows, np.ones(len(rows)))]

    order = np.argsort(rows)
    sorted_rows = rows[order]
    owner = np.full(len(rows), -1)
    second = np.full(len(rows), -1)
    owner[maxima] = np.arange(len(maxima))
    frontier = maxima
    while len(frontier):
        source, neighbour = neighbours.of(rows[frontier])
        position, inside = _local_index(sorted_rows, neighbour)
        target = order[position]
        source_position = order[_local_index(sorted_rows, source)[0]]
        free = inside & (owner[target] == -1)
        target, reacher = target[free], owner[source_position[free]]
        if not len(target):
            break
        new, first = np.unique(target, return_index=True)
        first_label = np.full(len(rows), -1)
        first_label[new] = reacher[first]
        other = reacher != first_label[target]
        shared, shared_first = np.unique(target[other], return_index=True)
        owner[new] = first_label[new]
        second[shared] = reacher[other][shared_first]
        grows = new[second[new] == -1]
        frontier = grows[np.argsort(-energy[grows], kind="stable")]

    position = np.stack([detector.x[rows], detector.y[rows], detector.z[rows]], axis=1)
    exclusive = second == -1
    num = len(maxima)
    centroid = np.zeros((num, 3))
    cluster_energy = np.zeros(num)
    for label in range(num):
        members = (owner == label) & exclusive
        weight = np.maximum(energy[members], 0.0)
        centroid[label] = np.average(position[members], axis=0, weights=weight if weight.sum() > 0 else None)
        cluster_energy[label] = max(energy[members].sum(), 0.001)

    # Cells cut off behind shared cells go to the nearest split cluster.
    unreached = np.flatnonzero(owner == -1)
    if len(unreached):
        distance = np.linalg.norm(position[unreached, None, :] - centroid[None, :, :], axis=2)
        owner[unreached] = np.argmin(distance, axis=1)

    weight_first = np.ones(len(rows))
    shared = np.flatnonzero(~exclusive)
    if len(shared):
        d1 = np.linalg.norm(position[shared] - centroid[owner[shared]], axis=1)
        d2 = np.linalg.norm(position[shared] - centroid[second[shared]], axis=1)
        ratio = np.exp(np.clip((d1 - d2) / shower_scale_mm, -50.0, 50.0))
        e1, e2 = cluster_energy[owner[shared]], cluster_energy[second[shared]]
        weight_first[shared] = e1 / (e1 + ratio * e2)

    result = []
    for label in range(num):
        first_member = owner == label
        second_member = second == label
        members = first_member | second_member
        weights = np.where(first_member, weight_first, 1.0 - weight_first)[members]
        result.append((rows[members], weights))
    return result
