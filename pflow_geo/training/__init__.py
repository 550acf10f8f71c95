"""Training on Lightning: the LightningModule, the data module, TensorBoard callbacks and the CLI.

Lightning is imported with this package, so :mod:`pflow_geo` itself stays light.
"""

from .config import LossConfig, OptimizerConfig, SchedulerConfig
from .datamodule import PointCloudDataModule
from .module import MONITOR, SegmentationModule

__all__ = ["LossConfig", "OptimizerConfig", "SchedulerConfig", "PointCloudDataModule", "SegmentationModule", "MONITOR"]
