"""pflow_geo: cell-to-track segmentation for particle flow, as a PyTorch Geometric plugin."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pflow_geo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
