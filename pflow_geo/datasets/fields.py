"""Point categories and feature columns of the per-track point clouds.

Every cloud is a PyG ``Data`` object with these tensors (``N`` points):

* ``pos`` ``[N, 3]`` float32: x, y, z in mm.
* ``x`` ``[N, F]`` float32: one column per name in the dataset's
  ``feature_names`` (``BASE_FEATURES`` first, then the chosen
  ``OPTIONAL_FEATURES``).
* ``category`` ``[N]`` int64: a :class:`Category` value.
* ``y`` ``[N]`` float32: 1 when more than half of the cell's truth energy comes
  from the focus track's particle, else 0; 0 for every non-cell point.
* ``weight`` ``[N]`` float32: cell energy in GeV for cells, 0 for every other point.
* ``frac_focus``, ``frac_charged``, ``frac_neutral`` ``[N]`` float32: share of
  the cell's truth energy from the focus particle, from other charged
  particles and from neutral particles; 0 for non-cells.
* ``cell_id`` ``[N]`` int64: the cell identifier, -1 for non-cells.
* ``cluster`` ``[N]`` int64: index within the event of the first topo-cluster
  holding the cell, -1 for non-cells.
* ``layer`` ``[N]`` int64: ATLAS sampling id of the cell or of the track
  intersection, -1 for padding.
* ``delta_r`` ``[N]`` float32: angular distance of the point to the focus
  track's reference direction.
* Per cloud, shape ``[1]``: ``event_number``, ``entry``, ``track_index``,
  ``track_pt`` (GeV), ``track_eta``, ``track_phi`` (radians, at the reference
  layer), ``focus_truth_energy`` (GeV, total truth energy of the focus
  particle in the cloud's cells).
"""

from __future__ import annotations

import enum

__all__ = ["Category", "BASE_FEATURES", "OPTIONAL_FEATURES", "CELL_ENERGY_SCALE_GEV", "TRACK_PT_SCALE_GEV"]


class Category(enum.IntEnum):
    """Kind of point in a cloud."""

    PADDING = -1
    FOCUS_TRACK = 0
    CELL = 1
    OTHER_TRACK = 2


# Columns of ``data.x``, always present, in this order:
#   x, y, z   position in mm (the same values as ``pos``)
#   category  the Category value as a float
#   energy    sign(E) * ln(1 + |E| / scale): cells use their energy with
#             CELL_ENERGY_SCALE_GEV, track points the track pT with
#             TRACK_PT_SCALE_GEV, so a 1 GeV cell and a 100 GeV track
#             both map to 4.6 (at most 9.9 and 5.3 up to 200 GeV)
#   distance  distance in mm to the nearest focus-track layer intersection
BASE_FEATURES: tuple[str, ...] = ("x", "y", "z", "category", "energy", "distance")

# Columns that can be added by name, after the base columns:
#   layer         ATLAS sampling id of the cell or of the track intersection
#   delta_eta     eta minus the focus track's reference eta
#   delta_phi     phi minus the focus track's reference phi, radians, wrapped into (-pi, pi]
#   significance  cell energy over its noise sigma (0 for track points)
OPTIONAL_FEATURES: tuple[str, ...] = ("layer", "delta_eta", "delta_phi", "significance")

CELL_ENERGY_SCALE_GEV = 0.01
TRACK_PT_SCALE_GEV = 1.0
