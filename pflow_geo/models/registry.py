"""Registry of segmentation models that share one contract.

A registered model is a ``torch.nn.Module`` built as
``Model(feature_names=..., **hyperparameters)`` whose ``forward(data)`` takes a
PyG ``Data`` or ``Batch`` of point clouds (see :mod:`pflow_geo.datasets.fields`)
and returns one logit per point, shape ``[num_points]``. Padding points
(category -1) get a logit too, but they never influence the logits of real
points. The trainer, the benchmark and the evaluation only use this contract.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["register_model", "build_model", "available_models", "get_model_class"]

_MODELS: dict[str, type[torch.nn.Module]] = {}


def register_model(name: str) -> Callable[[type[torch.nn.Module]], type[torch.nn.Module]]:
    """Register a model class under ``name`` (class decorator)."""

    def decorator(cls: type[torch.nn.Module]) -> type[torch.nn.Module]:
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"a model named {name!r} is already registered ({_MODELS[name].__qualname__})")
        _MODELS[name] = cls
        return cls

    return decorator


def available_models() -> list[str]:
    """Return the names of the registered models, sorted."""
    _import_builtin_models()
    return sorted(_MODELS)


def get_model_class(name: str) -> type[torch.nn.Module]:
    """Return the class registered as ``name``."""
    _import_builtin_models()
    try:
        return _MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(sorted(_MODELS))}") from None


def build_model(name: str, feature_names: Sequence[str], **hyperparameters: Any) -> torch.nn.Module:
    """Build the model registered as ``name`` for clouds with the given feature columns."""
    return get_model_class(name)(feature_names=tuple(feature_names), **hyperparameters)


def _import_builtin_models() -> None:
    # Importing the package runs the @register_model decorators of every built-in model.
    importlib.import_module("pflow_geo.models")
