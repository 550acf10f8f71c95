"""Topological clustering of calorimeter cells (the ATLAS 4-2-0 algorithm).

Significance is ``|E| / sigma`` with the clustering noise sigma of the cell.

1. Seeds are the cells above the seed threshold, taken in decreasing
   significance; each starts a proto-cluster.
2. Growth proceeds in rounds from the seeds and then from the cells added in
   the previous round (in decreasing significance). A neighbour above the
   growth threshold joins the proto-cluster and grows in the next round. If it
   already belongs to another proto-cluster, the two are merged.
3. A neighbour below the growth threshold but above the perimeter threshold
   joins the first proto-cluster that reaches it and does not grow further or
   cause merging.

With the perimeter threshold at 0 every touched neighbour with a non-zero
energy joins, including negative ones, as in ATLAS with ``|E|`` thresholds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .readout import sorted_unique

__all__ = ["topo_cluster"]

_REJECTED = -2


def _find(parent: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return the root label of each label (union-find without path compression)."""
    roots = parent[labels]
    while True:
        above = parent[roots]
        if np.array_equal(above, roots):
            return roots
        roots = above


def _union(parent: np.ndarray, first: np.ndarray, second: np.ndarray) -> None:
    """Merge the proto-clusters of each (first, second) label pair; the lower label (stronger seed) is the root."""
    roots_a, roots_b = _find(parent, first), _find(parent, second)
    differ = roots_a != roots_b
    for a, b in zip(roots_a[differ].tolist(), roots_b[differ].tolist()):
        while parent[a] != a:
            a = parent[a]
        while parent[b] != b:
            b = parent[b]
        if a != b:
            parent[max(a, b)] = min(a, b)


def topo_cluster(
    neighbours,
    num_cells: int,
    growth_rows: np.ndarray,
    significance: Callable[[np.ndarray], np.ndarray],
    seed_threshold: float = 4.0,
    growth_threshold: float = 2.0,
    perimeter_threshold: float = 0.0,
) -> list[np.ndarray]:
    """Build topo-clusters.

    Args:
        neighbours: Object with ``of(rows) -> (source, neighbour)`` returning the
            neighbour pairs of ``rows`` with sources in the given order (a
            :class:`~pflow_geo.simulation.neighbours.NeighbourTable`).
        num_cells: Number of cells (rows are ``0 .. num_cells - 1``).
        growth_rows: All cells with significance above ``growth_threshold``.
            Cells not listed are treated as below it.
        significance: Returns ``|E| / sigma`` for an array of rows.
        seed_threshold, growth_threshold, perimeter_threshold: Thresholds on the significance.

    Returns:
        The cells of each cluster (rows, int64), in the order they were added:
        seeds first, then round by round. Clusters are ordered by their strongest seed.
    """
    growth_rows = sorted_unique(np.asarray(growth_rows, dtype=np.int64))
    growth_significance = significance(growth_rows)
    is_seed = growth_significance > seed_threshold
    seeds = growth_rows[is_seed]
    if len(seeds) == 0:
        return []
    seeds = seeds[np.lexsort((seeds, -growth_significance[is_seed]))]

    is_growth = np.zeros(num_cells, bool)
    is_growth[growth_rows[growth_significance > growth_threshold]] = True
    label = np.full(num_cells, -1, np.int64)
    label[seeds] = np.arange(len(seeds))
    parent = np.arange(len(seeds))
    added = [seeds]

    frontier = seeds
    while len(frontier):
        source, neighbour = neighbours.of(frontier)
        source_label = label[source]
        neighbour_label = label[neighbour]

        # A growth neighbour already in a proto-cluster merges the two.
        merging = (neighbour_label >= 0) & is_growth[neighbour]
        _union(parent, source_label[merging], neighbour_label[merging])

        # Free neighbours join the first proto-cluster that reaches them.
        free = neighbour_label == -1
        reached, reacher = neighbour[free], source_label[free]
        new_rows, first = np.unique(reached, return_index=True)
        label[new_rows] = reacher[first]
        grows = is_growth[reached]
        _union(parent, reacher[grows], label[reached[grows]])

        new_growth = new_rows[is_growth[new_rows]]
        perimeter = new_rows[~is_growth[new_rows]]
        if len(perimeter):
            # The order of first contact decides the cluster, not the row number.
            perimeter = perimeter[np.argsort(first[~is_growth[new_rows]], kind="stable")]
            below = significance(perimeter) <= perimeter_threshold
            label[perimeter[below]] = _REJECTED
            perimeter = perimeter[~below]
        if len(new_growth):
            new_growth = new_growth[np.lexsort((new_growth, -significance(new_growth)))]
        added.append(np.concatenate([new_growth, perimeter]))
        frontier = new_growth

    rows = np.concatenate(added)
    roots = _find(parent, label[rows])
    order = np.argsort(roots, kind="stable")
    boundaries = np.flatnonzero(np.diff(roots[order])) + 1
    return np.split(rows[order], boundaries)
