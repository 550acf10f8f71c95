"""Hand-built cell grids for clustering tests."""

from types import SimpleNamespace

import numpy as np

from pflow_geo.simulation.neighbours import NeighbourTable


def neighbour_table(num_cells: int, pairs: list[tuple[int, int]]) -> NeighbourTable:
    """Return a neighbour table with the given undirected pairs."""
    source = np.array([a for a, b in pairs] + [b for a, b in pairs], np.int64)
    target = np.array([b for a, b in pairs] + [a for a, b in pairs], np.int64)
    order = np.lexsort((target, source))
    indptr = np.zeros(num_cells + 1, np.int64)
    np.cumsum(np.bincount(source, minlength=num_cells), out=indptr[1:])
    return NeighbourTable(indptr=indptr, indices=target[order].astype(np.int32), single={})


def square_grid(size: int) -> NeighbourTable:
    """Return the 8-neighbour table of a size x size grid; cell (i, j) is row i * size + j."""
    pairs = []
    for i in range(size):
        for j in range(size):
            for di, dj in ((0, 1), (1, -1), (1, 0), (1, 1)):
                a, b = i + di, j + dj
                if 0 <= a < size and 0 <= b < size:
                    pairs.append((i * size + j, a * size + b))
    return neighbour_table(size * size, pairs)


def line_detector(num_cells: int, sampling: int = 2, pitch_mm: float = 40.0) -> SimpleNamespace:
    """Return a detector-like object of one row of cells along eta in one sampling."""
    eta = 0.025 * (np.arange(num_cells) + 0.5)
    return SimpleNamespace(
        sampling=np.full(num_cells, sampling), eta=eta, phi=np.zeros(num_cells),
        deta=np.full(num_cells, 0.025), dphi=np.full(num_cells, 0.0245),
        x=np.full(num_cells, 1700.0), y=np.zeros(num_cells), z=pitch_mm * np.arange(num_cells),
        id=np.arange(num_cells, dtype=np.uint64) + 1000,
    )
