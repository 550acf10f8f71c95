"""Cell-level numpy view of one point cloud, shared by the prediction table and the baselines."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from torch_geometric.data import Data

from ..datasets.fields import Category
from ..geometry import cartesian_to_cylindrical, delta_r

__all__ = ["CloudCells", "extract_cells", "as_cells"]

_PER_CLOUD_FIELDS = ("event_number", "entry", "track_index", "track_pt", "track_eta", "track_phi", "focus_truth_energy")
_PER_POINT_FIELDS = (
    "pos",
    "category",
    "y",
    "weight",
    "frac_focus",
    "frac_charged",
    "frac_neutral",
    "cell_id",
    "cluster",
    "layer",
    "delta_r",
)


@dataclass(frozen=True, eq=False)
class CloudCells:
    """The cells of one cloud as numpy arrays, with the track's per-cloud values.

    Every array has one entry per cell (``num_cells``), in the cloud's point order.

    Attributes:
        event_number: Event number of the cloud.
        entry: Entry of the event in its ``EventTree``.
        track_index: Index of the focus track within the event.
        track_pt: Focus-track transverse momentum in GeV.
        track_eta: Focus-track pseudorapidity at the reference layer.
        track_phi: Focus-track azimuth at the reference layer, in radians.
        focus_truth_energy: Total truth energy of the focus particle in the cloud's cells, in GeV.
        num_points: Number of points in the cloud, padding included.
        point_index: Position of each cell among the cloud's points, int64.
        energy: Cell energy in GeV (EM scale), float64.
        label: 1 when the focus particle contributes more than half of the cell's truth energy, else 0; int8.
        frac_focus: Share of the cell's truth energy from the focus particle.
        frac_charged: Share from other charged particles.
        frac_neutral: Share from neutral particles.
        cell_id: Cell identifier, int64.
        cluster: Index within the event of the cell's topo-cluster, int64.
        layer: ATLAS sampling id of the cell, int64.
        delta_r: Angular distance of the cell to the focus track's reference direction.
        eta: Pseudorapidity of the cell centre, from ``pos``.
        phi: Azimuth of the cell centre in radians, from ``pos``.
        track_layer_eta: Pseudorapidity of the focus track's intersection with the cell's
            layer, NaN when the cloud has no focus-track point in that layer.
        track_layer_phi: Azimuth of that intersection in radians, NaN when missing.
        delta_r_layer: Angular distance of the cell to that intersection; equal to
            ``delta_r`` where the intersection is missing.
    """

    event_number: int
    entry: int
    track_index: int
    track_pt: float
    track_eta: float
    track_phi: float
    focus_truth_energy: float
    num_points: int
    point_index: np.ndarray
    energy: np.ndarray
    label: np.ndarray
    frac_focus: np.ndarray
    frac_charged: np.ndarray
    frac_neutral: np.ndarray
    cell_id: np.ndarray
    cluster: np.ndarray
    layer: np.ndarray
    delta_r: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    track_layer_eta: np.ndarray
    track_layer_phi: np.ndarray
    delta_r_layer: np.ndarray

    @property
    def num_cells(self) -> int:
        """Number of cells in the cloud."""
        return int(self.point_index.shape[0])

    @property
    def track_p(self) -> float:
        """Focus-track momentum ``pT * cosh(eta)`` in GeV."""
        return self.track_pt * math.cosh(self.track_eta)

    @property
    def track_key(self) -> tuple[int, int, int]:
        """``(event_number, entry, track_index)``, which identifies the track."""
        return (self.event_number, self.entry, self.track_index)


def extract_cells(cloud: Data) -> CloudCells:
    """Collect the cells of one cloud and their angular distance to the focus track per layer.

    The cell and intersection directions are computed from ``pos``, so ``pos``
    must hold the detector positions in mm, untouched by centring or scaling
    transforms.

    Args:
        cloud: One cloud with the fields of :mod:`pflow_geo.datasets.fields`.

    Returns:
        The cell arrays and per-cloud values.

    Raises:
        ValueError: If a field is missing, or the cloud is a batch of several clouds.
    """
    missing = [name for name in _PER_CLOUD_FIELDS + _PER_POINT_FIELDS if getattr(cloud, name, None) is None]
    if missing:
        raise ValueError(f"cloud lacks the fields {missing}; build clouds with the pflow_geo dataset")
    per_cloud = {}
    for name in _PER_CLOUD_FIELDS:
        value = getattr(cloud, name)
        if value.numel() != 1:
            raise ValueError(
                f"cloud field {name!r} has {value.numel()} values, expected 1; pass single clouds, not a Batch"
            )
        per_cloud[name] = value.item()

    category = _numpy(cloud.category)
    is_cell = category == int(Category.CELL)
    point_index = np.flatnonzero(is_cell)
    pos = _numpy(cloud.pos).astype(np.float64)
    layer = _numpy(cloud.layer).astype(np.int64)

    eta, phi, _ = cartesian_to_cylindrical(pos[:, 0], pos[:, 1], pos[:, 2])
    track_layer_eta, track_layer_phi = _focus_intersections(
        eta[category == int(Category.FOCUS_TRACK)],
        phi[category == int(Category.FOCUS_TRACK)],
        layer[category == int(Category.FOCUS_TRACK)],
        layer[is_cell],
    )
    cell_eta = eta[is_cell]
    cell_phi = phi[is_cell]
    reference_delta_r = _numpy(cloud.delta_r)[is_cell].astype(np.float64)
    layer_delta_r = delta_r(cell_eta, cell_phi, track_layer_eta, track_layer_phi)
    layer_delta_r = np.where(np.isnan(layer_delta_r), reference_delta_r, layer_delta_r)

    return CloudCells(
        event_number=int(per_cloud["event_number"]),
        entry=int(per_cloud["entry"]),
        track_index=int(per_cloud["track_index"]),
        track_pt=float(per_cloud["track_pt"]),
        track_eta=float(per_cloud["track_eta"]),
        track_phi=float(per_cloud["track_phi"]),
        focus_truth_energy=float(per_cloud["focus_truth_energy"]),
        num_points=int(category.shape[0]),
        point_index=point_index,
        energy=_numpy(cloud.weight)[is_cell].astype(np.float64),
        label=(_numpy(cloud.y)[is_cell] > 0.5).astype(np.int8),
        frac_focus=_numpy(cloud.frac_focus)[is_cell].astype(np.float64),
        frac_charged=_numpy(cloud.frac_charged)[is_cell].astype(np.float64),
        frac_neutral=_numpy(cloud.frac_neutral)[is_cell].astype(np.float64),
        cell_id=_numpy(cloud.cell_id)[is_cell].astype(np.int64),
        cluster=_numpy(cloud.cluster)[is_cell].astype(np.int64),
        layer=layer[is_cell],
        delta_r=reference_delta_r,
        eta=cell_eta,
        phi=cell_phi,
        track_layer_eta=track_layer_eta,
        track_layer_phi=track_layer_phi,
        delta_r_layer=layer_delta_r,
    )


def as_cells(clouds: Iterable[Data | CloudCells]) -> list[CloudCells]:
    """Convert clouds to :class:`CloudCells`, passing ones already converted through."""
    return [cloud if isinstance(cloud, CloudCells) else extract_cells(cloud) for cloud in clouds]


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _focus_intersections(
    track_eta: np.ndarray, track_phi: np.ndarray, track_layer: np.ndarray, cell_layer: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Look up, for each cell, the focus-track intersection in the cell's layer (NaN where there is none)."""
    eta = np.full(cell_layer.shape, np.nan)
    phi = np.full(cell_layer.shape, np.nan)
    # Iterating in reverse lets the first intersection of a layer win if a layer appears twice.
    for point in range(track_layer.shape[0] - 1, -1, -1):
        in_layer = cell_layer == track_layer[point]
        eta[in_layer] = track_eta[point]
        phi[in_layer] = track_phi[point]
    return eta, phi
