"""Deterministic train/validation/test assignment by event number."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["SPLITS", "assign_splits", "check_fractions"]

SPLITS: tuple[str, ...] = ("train", "val", "test")

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """Hash uint64 values with the SplitMix64 finaliser (a bijection with good avalanche)."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (z ^ (z >> np.uint64(31))) & _MASK64


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Validate (train, val, test) fractions: three non-negative numbers summing to 1."""
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be three non-negative numbers (train, val, test) summing to 1, got {fractions}")
    return fractions  # type: ignore[return-value]


def assign_splits(event_number: np.ndarray, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0) -> np.ndarray:
    """Return the split of each event: 0 train, 1 val, 2 test (int8, same shape as ``event_number``).

    The split depends only on the event number and ``seed``, so every track of
    an event lands in the same split however the files were chunked or
    processed, and the assignment is stable when more events are added.
    """
    train, val, _ = check_fractions(fractions)
    keys = np.asarray(event_number).astype(np.int64).view(np.uint64) ^ _splitmix64(np.array([seed], dtype=np.uint64))[0]
    uniform = (_splitmix64(keys) >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)
    return np.where(uniform < train, 0, np.where(uniform < train + val, 1, 2)).astype(np.int8)
