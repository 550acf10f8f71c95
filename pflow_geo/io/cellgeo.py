"""The ``CellGeo`` tree: position, sampling and noise of every calorimeter cell."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from ..errors import MLTreeInputError
from ..geometry import cylindrical_to_cartesian
from . import schema
from .files import get_tree, open_root_file, read_branches, tree_branch_names

__all__ = ["CellGeometry", "read_cell_geometry", "missing_geo_branches"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CellGeometry:
    """Geometry of all calorimeter cells, one row per cell, in ``CellGeo`` order.

    Attributes:
        path: The file the geometry was read from.
        id: Compact 32-bit cell identifiers, uint64 ``[num_cells]``.
        sampling: ATLAS sampling id, int16 ``[num_cells]``.
        eta: Pseudorapidity of the cell centre, float32.
        phi: Azimuth of the cell centre in radians, float32.
        r: Transverse radius of the cell centre in mm, float32.
        x, y, z: Cartesian cell centre in mm, float32.
        noise: Electronic noise sigma in GeV (stored in MeV in the file), float32,
            or None when the file has no noise branch.
        extra: Other per-cell branches present in the file (cell sizes,
            volume and neighbour row indices), by branch name.
        noise_branch: The branch ``noise`` was read from, or None.
    """

    path: str
    id: np.ndarray
    sampling: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    r: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    noise: np.ndarray | None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    noise_branch: str | None = None

    def __post_init__(self) -> None:
        order = np.argsort(self.id, kind="stable")
        sorted_id = self.id[order]
        duplicated = np.flatnonzero(sorted_id[1:] == sorted_id[:-1])
        if duplicated.size:
            raise MLTreeInputError(
                self.path,
                f"{duplicated.size} cell IDs appear more than once, e.g. {int(sorted_id[duplicated[0]])}",
                item=schema.GEO_ID,
                hint="the CellGeo tree is invalid; use the geometry file produced with the ntuples",
            )
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_sorted_id", sorted_id)

    def __len__(self) -> int:
        return len(self.id)

    def rows(self, cell_ids: np.ndarray) -> np.ndarray:
        """Return the CellGeo row of each cell ID, int64, with -1 for IDs not in the geometry."""
        cell_ids = np.asarray(cell_ids, dtype=np.uint64)
        if len(self._sorted_id) == 0:
            return np.full(cell_ids.shape, -1, dtype=np.int64)
        position = np.searchsorted(self._sorted_id, cell_ids)
        position = np.minimum(position, len(self._sorted_id) - 1)
        found = self._sorted_id[position] == cell_ids
        return np.where(found, self._order[position], -1).astype(np.int64)


def read_cell_geometry(path: str | os.PathLike[str], root_file=None) -> CellGeometry:
    """Read the one-entry ``CellGeo`` tree of a file into a :class:`CellGeometry`.

    Args:
        path: The file that holds ``CellGeo`` (the ntuple itself or a separate geometry file).
        root_file: An already opened uproot file for ``path``, to avoid opening it twice.

    Raises:
        MLTreeInputError: If the file, the tree or a required branch is missing,
            the tree does not have exactly one entry, or a value is not finite.
    """
    if root_file is None:
        root_file = open_root_file(path)
    tree = get_tree(root_file, schema.CELL_GEO_TREE, path)
    present = tree_branch_names(tree)

    missing = missing_geo_branches(present)
    has_xyz = all(name in present for name in schema.GEO_XYZ)
    if missing:
        raise MLTreeInputError(
            path,
            f"CellGeo lacks required branches: {', '.join(missing)}",
            item=", ".join(missing),
            hint="use a CellGeo tree written by MLTree's CellGeometryTreeMaker, or pass the right --cell-geo file",
        )
    if tree.num_entries != 1:
        raise MLTreeInputError(
            path,
            f"CellGeo has {tree.num_entries} entries, expected exactly 1",
            item=schema.CELL_GEO_TREE,
            hint="CellGeo holds every cell in its single entry; pass the geometry file produced with the ntuples",
        )

    noise_branch = next((name for name in schema.GEO_NOISE if name in present), None)
    wanted = list(schema.REQUIRED_GEO_BRANCHES)
    wanted += [schema.GEO_RPERP] if schema.GEO_RPERP in present else []
    wanted += list(schema.GEO_XYZ) if has_xyz else []
    wanted += [noise_branch] if noise_branch else []
    wanted += [name for name in (*schema.GEO_OPTIONAL, *schema.GEO_NEIGHBOURS) if name in present]
    record = read_branches(tree, wanted, path, 0, 1)[0]
    columns = {name: ak.to_numpy(record[name]) for name in wanted}

    for name, values in columns.items():
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise MLTreeInputError(
                path,
                f"{bad} of {len(values)} values of {name} are NaN or infinite",
                item=name,
                hint="the geometry is unusable; use the CellGeo file produced with the ntuples",
            )

    eta = columns[schema.GEO_ETA].astype(np.float32)
    phi = columns[schema.GEO_PHI].astype(np.float32)
    if has_xyz:
        x, y, z = (columns[name].astype(np.float32) for name in schema.GEO_XYZ)
        r = columns[schema.GEO_RPERP].astype(np.float32) if schema.GEO_RPERP in columns else np.hypot(x, y)
    else:
        r = columns[schema.GEO_RPERP].astype(np.float32)
        x, y, z = (c.astype(np.float32) for c in cylindrical_to_cartesian(eta.astype(np.float64), phi.astype(np.float64), r.astype(np.float64)))

    noise = None
    if noise_branch is not None:
        noise = (columns[noise_branch] * 1e-3).astype(np.float32)  # MeV -> GeV
    else:
        log.warning("%s: CellGeo has no noise branch (%s); noise features are unavailable", path, " or ".join(schema.GEO_NOISE))

    used = {*schema.REQUIRED_GEO_BRANCHES, schema.GEO_RPERP, *schema.GEO_XYZ, noise_branch}
    extra = {name: values for name, values in columns.items() if name not in used}
    return CellGeometry(
        path=os.fspath(path),
        id=columns[schema.GEO_ID].astype(np.uint64),
        sampling=columns[schema.GEO_SAMPLING].astype(np.int16),
        eta=eta,
        phi=phi,
        r=r,
        x=x,
        y=y,
        z=z,
        noise=noise,
        extra=extra,
        noise_branch=noise_branch,
    )


def missing_geo_branches(present: Iterable[str]) -> list[str]:
    """Return the required ``CellGeo`` branches that are not in ``present``.

    The cell position needs ``cell_geo_rPerp`` or all of ``cell_geo_X``,
    ``cell_geo_Y`` and ``cell_geo_Z``; when neither is there, the entry names both.
    """
    present = set(present)
    missing = [name for name in schema.REQUIRED_GEO_BRANCHES if name not in present]
    has_xyz = all(name in present for name in schema.GEO_XYZ)
    if schema.GEO_RPERP not in present and not has_xyz:
        missing.append(f"{schema.GEO_RPERP} (or {', '.join(schema.GEO_XYZ)})")
    return missing
