"""Point-cloud segmentation models behind one contract; see :mod:`pflow_geo.models.registry`."""

from .registry import available_models, build_model, get_model_class, register_model

# Imported for their @register_model side effect.
from . import pointnet  # noqa: E402,F401
from . import dgcnn, graph_transformer, point_transformer, pointnet2  # noqa: E402,F401

__all__ = ["available_models", "build_model", "get_model_class", "register_model"]
