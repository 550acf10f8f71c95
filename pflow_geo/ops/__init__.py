"""Point-cloud operations shared by the models: neighbour search, sampling and padding handling."""

from .neighbors import (
    BACKENDS,
    TORCH_CLUSTER_AVAILABLE,
    farthest_from_centroid,
    fps,
    knn,
    knn_graph,
    knn_interpolate,
    radius,
    radius_graph,
    set_default_backend,
    use_backend,
)
from .padding import RealPoints, select_real_points

__all__ = [
    "BACKENDS",
    "TORCH_CLUSTER_AVAILABLE",
    "RealPoints",
    "farthest_from_centroid",
    "fps",
    "knn",
    "knn_graph",
    "knn_interpolate",
    "radius",
    "radius_graph",
    "select_real_points",
    "set_default_backend",
    "use_backend",
]
