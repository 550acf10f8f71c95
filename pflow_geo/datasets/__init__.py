"""Per-track point-cloud datasets built from MLTree files."""

from .builder import CloudConfig, build_clouds
from .dataset import DEFAULT_SAMPLE, TrackCloudDataset
from .fields import BASE_FEATURES, OPTIONAL_FEATURES, Category

__all__ = [
    "BASE_FEATURES",
    "OPTIONAL_FEATURES",
    "Category",
    "CloudConfig",
    "DEFAULT_SAMPLE",
    "TrackCloudDataset",
    "build_clouds",
]
