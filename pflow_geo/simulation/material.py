"""Longitudinal material stacks: what a particle from the origin crosses at a given |eta|.

A stack is the ordered list of segments (dead material and calorimeter
layers) along a straight line from the interaction point, with the path
distance, the cumulative depth in X0 and lambda_I, and the MIP energy loss
of each segment. Showers are generated in depth units and placed with it.
Stacks are precomputed on a grid of |eta| bins.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .layout import DEAD_MATERIAL, FRONT_LAMBDA_PER_X0, FRONT_MIP_PER_X0, LAYERS, Calorimeter, front_material_x0

__all__ = ["Stack", "get_stack", "ETA_BIN_WIDTH", "MAX_ABS_ETA"]

ETA_BIN_WIDTH = 0.01
MAX_ABS_ETA = 3.3


@dataclass(frozen=True)
class Stack:
    """Segments crossed along one direction, ordered from the interaction point outwards.

    Attributes:
        abs_eta: The |eta| the stack was computed for (bin centre).
        sampling: Sampling id per segment, -1 for dead material, int64 ``[num_segments]``.
        calorimeter: :class:`Calorimeter` value per segment.
        barrel: True where the segment is a barrel shell (position by radius), else an end-cap disc.
        distance_low, distance_high: Path distance from the origin in mm where the segment starts and ends.
        x0_low, x0_high: Cumulative depth in X0 at the segment's start and end.
        lambda_low, lambda_high: Cumulative depth in lambda_I.
        mip_mev: MIP energy loss in the segment along the path, MeV.
    """

    abs_eta: float
    sampling: np.ndarray
    calorimeter: np.ndarray
    barrel: np.ndarray
    distance_low: np.ndarray
    distance_high: np.ndarray
    x0_low: np.ndarray
    x0_high: np.ndarray
    lambda_low: np.ndarray
    lambda_high: np.ndarray
    mip_mev: np.ndarray

    @property
    def total_x0(self) -> float:
        """Depth of the whole stack in X0."""
        return float(self.x0_high[-1]) if len(self.x0_high) else 0.0

    @property
    def total_lambda(self) -> float:
        """Depth of the whole stack in lambda_I."""
        return float(self.lambda_high[-1]) if len(self.lambda_high) else 0.0

    def segment_at_x0(self, depth: np.ndarray) -> np.ndarray:
        """Return the segment index at each cumulative X0 depth, ``len(self)`` beyond the stack."""
        return np.searchsorted(self.x0_high, depth, side="right")

    def segment_at_lambda(self, depth: np.ndarray) -> np.ndarray:
        """Return the segment index at each cumulative lambda_I depth, ``len(self)`` beyond the stack."""
        return np.searchsorted(self.lambda_high, depth, side="right")

    def x0_to_lambda(self, depth: np.ndarray) -> np.ndarray:
        """Convert cumulative X0 depth to cumulative lambda_I depth."""
        return np.interp(depth, self._x0_edges, self._lambda_edges)

    def lambda_to_x0(self, depth: np.ndarray) -> np.ndarray:
        """Convert cumulative lambda_I depth to cumulative X0 depth."""
        return np.interp(depth, self._lambda_edges, self._x0_edges)

    def distance(self, segment: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """Return the path distance in mm at ``fraction`` (0 to 1) of the way through each segment."""
        return self.distance_low[segment] + fraction * (self.distance_high[segment] - self.distance_low[segment])

    def __len__(self) -> int:
        return len(self.sampling)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_x0_edges", np.concatenate([self.x0_low[:1], self.x0_high]))
        object.__setattr__(self, "_lambda_edges", np.concatenate([self.lambda_low[:1], self.lambda_high]))


def _path_interval(barrel: bool, inner: float, outer: float, abs_eta: float) -> tuple[float, float]:
    """Return the path distances in mm at which a line from the origin at |eta| enters and leaves a shell or disc."""
    if barrel:
        return inner * np.cosh(abs_eta), outer * np.cosh(abs_eta)
    if abs_eta < 1e-6:
        return np.inf, np.inf
    factor = 1.0 / np.tanh(abs_eta)
    return inner * factor, outer * factor


def _build_stack(abs_eta: float) -> Stack:
    # (distance in, distance out, sampling, calorimeter, barrel, X0 per mm, lambda per mm, MIP MeV per mm)
    pieces = []
    for layer in LAYERS:
        if layer.eta_min <= abs_eta < layer.eta_max:
            thickness = layer.outer - layer.inner
            pieces.append((*_path_interval(layer.barrel, layer.inner, layer.outer, abs_eta), int(layer.sampling), int(layer.calorimeter), layer.barrel,
                           layer.depth_x0 / thickness, layer.depth_lambda / thickness, layer.mip_mev / thickness))
    for dead in DEAD_MATERIAL:
        if dead.eta_min <= abs_eta < dead.eta_max:
            thickness = dead.outer - dead.inner
            pieces.append((*_path_interval(dead.barrel, dead.inner, dead.outer, abs_eta), -1, int(Calorimeter.DEAD), dead.barrel,
                           dead.depth_x0 / thickness, dead.depth_lambda / thickness, dead.mip_mev / thickness))
    pieces.sort(key=lambda piece: piece[0])

    # Where shells and discs overlap (the barrel to end-cap transition), the
    # one the line reaches first keeps the overlap.
    segments = []
    reached = 0.0
    for start, stop, *rest in pieces:
        start = max(start, reached)
        if stop - start > 1e-6:
            segments.append((start, stop, *rest))
            reached = stop

    # The inner detector, solenoid and cryostat in front, as one dead segment.
    front_x0 = float(front_material_x0(abs_eta))
    front_end = segments[0][0] if segments else 1.0
    segments.insert(0, (0.0, front_end, -1, int(Calorimeter.DEAD), True, front_x0 / front_end,
                        front_x0 * FRONT_LAMBDA_PER_X0 / front_end, front_x0 * FRONT_MIP_PER_X0 / front_end))

    table = np.array([s[:2] for s in segments])
    length = table[:, 1] - table[:, 0]
    x0 = np.array([s[5] for s in segments]) * length
    lam = np.array([s[6] for s in segments]) * length
    return Stack(
        abs_eta=abs_eta,
        sampling=np.array([s[2] for s in segments], np.int64),
        calorimeter=np.array([s[3] for s in segments], np.int64),
        barrel=np.array([s[4] for s in segments], bool),
        distance_low=table[:, 0],
        distance_high=table[:, 1],
        x0_low=np.concatenate([[0.0], np.cumsum(x0)[:-1]]),
        x0_high=np.cumsum(x0),
        lambda_low=np.concatenate([[0.0], np.cumsum(lam)[:-1]]),
        lambda_high=np.cumsum(lam),
        mip_mev=np.array([s[7] for s in segments]) * length,
    )


@functools.lru_cache(maxsize=None)
def _stack_for_bin(index: int) -> Stack:
    return _build_stack((index + 0.5) * ETA_BIN_WIDTH)


def get_stack(abs_eta: float) -> Stack | None:
    """Return the stack for a direction's |eta|, or None beyond the simulated coverage (|eta| >= 3.3)."""
    if not abs_eta < MAX_ABS_ETA:
        return None
    return _stack_for_bin(int(abs_eta / ETA_BIN_WIDTH))
