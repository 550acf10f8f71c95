"""Argument types shared by the ``pflow-geo`` subcommands.

Each type converts an option's text and checks its range. A bad value raises
``argparse.ArgumentTypeError``, so argparse prints the option, the accepted
range and the value given, and exits with status 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from ..devices import DEVICE_NAME

__all__ = [
    "positive_int",
    "non_negative_int",
    "positive_float",
    "non_negative_float",
    "probability",
    "float_between",
    "device_name",
]


def _parse(text: str, convert: Callable[[str], float], is_valid: Callable[[float], bool], expected: str):
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not is_valid(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Parse an integer of at least 1: a count or a size."""
    return _parse(text, int, lambda value: value >= 1, "an integer >= 1")


def non_negative_int(text: str) -> int:
    """Parse an integer of at least 0: a seed, or a count that may be zero."""
    return _parse(text, int, lambda value: value >= 0, "an integer >= 0")


def positive_float(text: str) -> float:
    """Parse a finite number above 0."""
    return _parse(text, float, lambda value: math.isfinite(value) and value > 0, "a finite number > 0")


def non_negative_float(text: str) -> float:
    """Parse a finite number of at least 0."""
    return _parse(text, float, lambda value: math.isfinite(value) and value >= 0, "a finite number >= 0")


def probability(text: str) -> float:
    """Parse a probability in [0, 1]."""
    return _parse(text, float, lambda value: 0.0 <= value <= 1.0, "a probability in [0, 1]")


def float_between(
    low: float,
    high: float,
    *,
    include_low: bool = True,
    low_text: str | None = None,
    high_text: str | None = None,
) -> Callable[[str], float]:
    """Return a type that parses a number in [low, high], or in (low, high] when ``include_low`` is False.

    ``low_text`` and ``high_text`` replace the numbers in the message, e.g. ``-pi``.
    """
    opening = "[" if include_low else "("
    expected = f"a number in {opening}{low_text or f'{low:g}'}, {high_text or f'{high:g}'}]"

    def is_valid(value: float) -> bool:
        above_low = value >= low if include_low else value > low
        return above_low and value <= high

    def parse(text: str) -> float:
        return _parse(text, float, is_valid, expected)

    return parse


def device_name(text: str) -> str:
    """Parse a device name: auto, cpu, cuda or cuda:N."""
    if DEVICE_NAME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")
    return text

