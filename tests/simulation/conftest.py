"""Shared fixtures of the simulation tests."""

import pytest

from pflow_geo.simulation.detector import get_detector


@pytest.fixture(scope="session")
def detector():
    """The full simulated detector, built once per session (about two seconds)."""
    return get_detector(1.0)
