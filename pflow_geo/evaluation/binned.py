"""Efficiency, purity and residual quantiles in bins of a track or cell variable.

Efficiency is the energy-weighted recall and purity the energy-weighted
precision of the cells in a bin, with the absolute cell energy ``|E|`` (GeV)
as the weight and the binary ``label`` as the truth, as in
:mod:`pflow_geo.metrics`::

    efficiency = sum(|E| * label * predicted) / sum(|E| * label)
    purity     = sum(|E| * label * predicted) / sum(|E| * predicted)

Summed over all bins they equal the ``weighted_recall`` and
``weighted_precision`` of :func:`pflow_geo.metrics.segmentation_scores`. A
bin whose denominator is zero gets NaN, where the metrics module reports 0,
so that empty bins are left out of plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .predictions import DEFAULT_THRESHOLD, column, predicted_mask

__all__ = ["BINNED_VARIABLES", "DEFAULT_EDGES", "BinnedRates", "BinnedQuantiles", "binned_rates", "binned_quantiles"]

# Variables :func:`binned_rates` accepts. ``layer`` is binned per sampling id.
BINNED_VARIABLES = ("track_pt", "abs_track_eta", "delta_r", "layer")

# Default bin edges: track pT in GeV, |eta| up to the end of the EM end-cap,
# and ΔR to the focus track's reference direction across the 0.2 cone.
DEFAULT_EDGES: dict[str, tuple[float, ...]] = {
    "track_pt": (0.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0),
    "abs_track_eta": (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.2),
    "delta_r": (0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2),
}


@dataclass(frozen=True)
class BinnedRates:
    """Energy-weighted efficiency and purity per bin, with the sums behind them (GeV).

    Attributes:
        variable: The binned variable, one of :data:`BINNED_VARIABLES`.
        edges: Bin edges ``[num_bins + 1]``, or None for ``layer``.
        categories: Sampling ids ``[num_bins]`` for ``layer``, else None.
        efficiency: ``matched_energy / true_energy``.
        purity: ``matched_energy / predicted_energy``.
        true_energy: ``sum(|E| * label)``.
        predicted_energy: ``sum(|E| * predicted)``.
        matched_energy: ``sum(|E| * label * predicted)``.
        num_cells: Number of cells, int64.
    """

    variable: str
    edges: np.ndarray | None
    categories: np.ndarray | None
    efficiency: np.ndarray
    purity: np.ndarray
    true_energy: np.ndarray
    predicted_energy: np.ndarray
    matched_energy: np.ndarray
    num_cells: np.ndarray


@dataclass(frozen=True)
class BinnedQuantiles:
    """Quantiles of a value in bins of another.

    Attributes:
        edges: Bin edges ``[num_bins + 1]``.
        median: Median per bin, NaN for an empty bin.
        lower: 25th percentile per bin.
        upper: 75th percentile per bin.
        count: Number of finite values per bin, int64.
    """

    edges: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    count: np.ndarray

    @property
    def iqr(self) -> np.ndarray:
        """Interquartile range ``upper - lower`` per bin."""
        return self.upper - self.lower


def binned_rates(
    table: pa.Table,
    method: str,
    variable: str,
    edges: Sequence[float] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> BinnedRates:
    """Compute efficiency and purity of one method in bins of a variable.

    Args:
        table: A prediction table.
        method: The method whose ``prob_<method>`` column is used.
        variable: ``track_pt`` (GeV), ``abs_track_eta``, ``delta_r`` (the
            cell's angular distance to the track's reference direction) or
            ``layer`` (one bin per sampling id present).
        edges: Increasing bin edges; :data:`DEFAULT_EDGES` when None. Values
            below the first edge go to the first bin and values at or above
            the last edge to the last bin. Ignored for ``layer``.
        threshold: Probability above which a cell counts as predicted.

    Returns:
        The rates and the energy sums per bin.

    Raises:
        ValueError: If the variable is unknown or the edges are not increasing.
    """
    if variable not in BINNED_VARIABLES:
        raise ValueError(f"unknown variable {variable!r}; expected one of {BINNED_VARIABLES}")
    predicted = predicted_mask(table, method, threshold)
    energy = np.abs(column(table, "energy").astype(np.float64))
    label = column(table, "label") == 1

    categories = None
    bin_edges = None
    if variable == "layer":
        layer = column(table, "layer")
        categories, bin_index = np.unique(layer, return_inverse=True)
        bin_index = bin_index.reshape(-1)
        num_bins = categories.shape[0]
    else:
        values = np.abs(column(table, "track_eta")) if variable == "abs_track_eta" else column(table, variable)
        bin_edges = _check_edges(DEFAULT_EDGES[variable] if edges is None else edges)
        bin_index = _bin_index(values, bin_edges)
        num_bins = bin_edges.shape[0] - 1

    def per_bin(weights: np.ndarray) -> np.ndarray:
        return np.bincount(bin_index, weights=weights, minlength=num_bins)

    true_energy = per_bin(np.where(label, energy, 0.0))
    predicted_energy = per_bin(np.where(predicted, energy, 0.0))
    matched_energy = per_bin(np.where(label & predicted, energy, 0.0))
    return BinnedRates(
        variable=variable,
        edges=bin_edges,
        categories=categories,
        efficiency=_ratio(matched_energy, true_energy),
        purity=_ratio(matched_energy, predicted_energy),
        true_energy=true_energy,
        predicted_energy=predicted_energy,
        matched_energy=matched_energy,
        num_cells=np.bincount(bin_index, minlength=num_bins).astype(np.int64),
    )


def binned_quantiles(x: np.ndarray, values: np.ndarray, edges: Sequence[float]) -> BinnedQuantiles:
    """Compute the median and quartiles of ``values`` in bins of ``x``.

    Non-finite values are left out. Values of ``x`` below the first edge go
    to the first bin and values at or above the last edge to the last bin.
    Percentiles use numpy's default linear interpolation.

    Raises:
        ValueError: If the arrays differ in length or the edges are not increasing.
    """
    x = np.asarray(x, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if x.shape != values.shape:
        raise ValueError(f"x and values differ in shape: {x.shape} and {values.shape}")
    bin_edges = _check_edges(edges)
    num_bins = bin_edges.shape[0] - 1
    finite = np.isfinite(values)
    bin_index = _bin_index(x[finite], bin_edges)
    values = values[finite]

    quartiles = np.full((num_bins, 3), np.nan)
    count = np.bincount(bin_index, minlength=num_bins).astype(np.int64)
    for index in np.flatnonzero(count):
        quartiles[index] = np.percentile(values[bin_index == index], [25.0, 50.0, 75.0])
    return BinnedQuantiles(
        edges=bin_edges, median=quartiles[:, 1], lower=quartiles[:, 0], upper=quartiles[:, 2], count=count
    )


def _check_edges(edges: Sequence[float]) -> np.ndarray:
    bin_edges = np.asarray(edges, dtype=np.float64)
    if bin_edges.ndim != 1 or bin_edges.shape[0] < 2 or np.any(np.diff(bin_edges) <= 0):
        raise ValueError(f"bin edges must be at least two increasing values, got {list(edges)}")
    return bin_edges


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # Inner edges only, so underflow lands in bin 0 and overflow in the last bin.
    return np.searchsorted(edges[1:-1], values, side="right").astype(np.int64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)
