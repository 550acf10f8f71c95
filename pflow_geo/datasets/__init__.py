"""Per-track point-cloud datasets built from MLTree files.

The names below are imported on first use, so that light modules such as
``pflow_geo.datasets.fields`` can be imported without loading the whole
dataset stack (uproot, awkward, PyG).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BASE_FEATURES": "fields",
    "OPTIONAL_FEATURES": "fields",
    "Category": "fields",
    "CloudConfig": "builder",
    "build_clouds": "builder",
    "DEFAULT_SAMPLE": "dataset",
    "TrackCloudDataset": "dataset",
    "PointBudgetBatchSampler": "loaders",
    "make_dataloader": "loaders",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
