"""Per-track point-cloud datasets built from MLTree files."""

from .fields import BASE_FEATURES, OPTIONAL_FEATURES, Category

__all__ = ["BASE_FEATURES", "OPTIONAL_FEATURES", "Category"]
