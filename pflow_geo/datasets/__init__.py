"""Per-track point-cloud datasets built from MLTree files."""

from .builder import CloudConfig, build_clouds
from .dataset import DEFAULT_SAMPLE, TrackCloudDataset
from .fields import BASE_FEATURES, OPTIONAL_FEATURES, Category
from .loaders import PointBudgetBatchSampler, make_dataloader

__all__ = [
    "BASE_FEATURES",
    "OPTIONAL_FEATURES",
    "Category",
    "CloudConfig",
    "DEFAULT_SAMPLE",
    "PointBudgetBatchSampler",
    "TrackCloudDataset",
    "build_clouds",
    "make_dataloader",
]
