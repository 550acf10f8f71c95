"""Typed options of the loss, the optimizer and the learning-rate schedule.

The dataclasses are the types of the :class:`~pflow_geo.training.module.SegmentationModule`
arguments, so Lightning's CLI (through jsonargparse) checks names and
values when it reads them from YAML or the command line::

    model:
      optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
      scheduler: {name: one_cycle, pct_start: 0.2}

The module stores them as plain dictionaries (:func:`dataclasses.asdict`), so
checkpoints contain only built-in types and load with ``weights_only=True``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeVar

import torch

from ..losses import LOSSES, WEIGHT_TRANSFORMS, CombinedLoss, WeightTransform

__all__ = [
    "LossConfig",
    "OptimizerConfig",
    "SchedulerConfig",
    "build_optimizer",
    "build_scheduler",
    "coerce_config",
    "config_to_dict",
]

OptimizerName = Literal["adamw", "sgd"]
SchedulerName = Literal["none", "cosine_warm_restarts", "one_cycle"]

_Config = TypeVar("_Config", "LossConfig", "OptimizerConfig", "SchedulerConfig")


@dataclass(frozen=True)
class LossConfig:
    """Options of the cell loss, :class:`pflow_geo.losses.CombinedLoss`.

    Attributes:
        terms: Coefficient of each loss term by name (``bce``, ``focal``, ``dice``).
        weight_transform: How cell energies become per-cell loss weights, one of
            :data:`pflow_geo.losses.WEIGHT_TRANSFORMS`. The default ``absolute``
            weighs each cell by ``|E|``, matching the energy-weighted metrics
            that select the best checkpoint.
        threshold: Energy in GeV above which the ``threshold`` transform gives weight 1.
        focal_gamma: Focusing exponent of the focal term.
        focal_alpha: Weight of the positive class in the focal term, or None.
        dice_smooth: Smoothing term of the Dice term.
    """

    terms: dict[str, float] = field(default_factory=lambda: {"bce": 1.0})
    weight_transform: WeightTransform = "absolute"
    threshold: float = 0.0
    focal_gamma: float = 2.0
    focal_alpha: float | None = 0.25
    dice_smooth: float = 1e-6

    def __post_init__(self) -> None:
        unknown = sorted(set(self.terms) - set(LOSSES))
        if unknown:
            raise ValueError(f"unknown loss terms {unknown}; expected names from {LOSSES}")
        if self.weight_transform not in WEIGHT_TRANSFORMS:
            raise ValueError(f"unknown weight_transform {self.weight_transform!r}; expected one of {WEIGHT_TRANSFORMS}")

    def build(self) -> CombinedLoss:
        """Build the loss module."""
        return CombinedLoss(
            terms=dict(self.terms),
            weight_transform=self.weight_transform,
            threshold=self.threshold,
            focal_gamma=self.focal_gamma,
            focal_alpha=self.focal_alpha,
            dice_smooth=self.dice_smooth,
        )


@dataclass(frozen=True)
class OptimizerConfig:
    """Optimizer and its settings.

    Attributes:
        name: ``adamw`` (:class:`torch.optim.AdamW`) or ``sgd``
            (:class:`torch.optim.SGD` with momentum).
        lr: Learning rate; the peak rate for the ``one_cycle`` schedule.
        weight_decay: Decoupled weight decay for AdamW, L2 penalty for SGD.
        betas: AdamW's coefficients of the running averages.
        momentum: SGD momentum.
        nesterov: Use Nesterov momentum with SGD.
    """

    name: OptimizerName = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9
    nesterov: bool = False

    def __post_init__(self) -> None:
        if self.name not in ("adamw", "sgd"):
            raise ValueError(f"unknown optimizer {self.name!r}; expected 'adamw' or 'sgd'")
        if not self.lr > 0:
            raise ValueError(f"invalid learning rate {self.lr!r}; expected a value > 0")
        if self.weight_decay < 0:
            raise ValueError(f"invalid weight_decay {self.weight_decay!r}; expected a value >= 0")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"invalid momentum {self.momentum!r}; expected a value in [0, 1)")
        if self.nesterov and (self.name != "sgd" or self.momentum == 0):
            raise ValueError("nesterov=True needs name='sgd' and momentum > 0")
        object.__setattr__(self, "betas", tuple(float(beta) for beta in self.betas))


@dataclass(frozen=True)
class SchedulerConfig:
    """Learning-rate schedule, stepped after every optimizer step.

    Attributes:
        name: ``none`` (constant rate), ``cosine_warm_restarts``
            (:class:`torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`) or
            ``one_cycle`` (:class:`torch.optim.lr_scheduler.OneCycleLR` over the
            whole run, ``trainer.max_epochs`` or ``trainer.max_steps``).
        restart_epochs: Length of the first cosine cycle in epochs (``T_0``
            in optimizer steps is this times the steps per epoch).
        restart_mult: Factor by which each cosine cycle is longer than the last (``T_mult``).
        min_lr: Lowest rate of the cosine cycles (``eta_min``).
        pct_start: Share of the one-cycle run spent raising the rate.
        div_factor: The one-cycle run starts at ``lr / div_factor``.
        final_div_factor: The one-cycle run ends at ``lr / (div_factor * final_div_factor)``.
        cycle_momentum: Cycle the momentum (SGD) or the first beta (AdamW)
            inversely to the rate in the one-cycle run.
    """

    name: SchedulerName = "none"
    restart_epochs: int = 10
    restart_mult: int = 1
    min_lr: float = 0.0
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    cycle_momentum: bool = True

    def __post_init__(self) -> None:
        if self.name not in ("none", "cosine_warm_restarts", "one_cycle"):
            raise ValueError(f"unknown scheduler {self.name!r}; expected 'none', 'cosine_warm_restarts' or 'one_cycle'")
        if self.restart_epochs < 1 or self.restart_mult < 1:
            raise ValueError(
                f"restart_epochs and restart_mult must be at least 1, got {self.restart_epochs} and {self.restart_mult}"
            )
        if not 0 < self.pct_start < 1:
            raise ValueError(f"invalid pct_start {self.pct_start!r}; expected a value in (0, 1)")


def coerce_config(value: _Config | Mapping[str, Any] | None, config_type: type[_Config]) -> _Config:
    """Return ``value`` as a ``config_type``, building it from a mapping (as stored in checkpoints) if needed."""
    if value is None:
        return config_type()
    if isinstance(value, config_type):
        return value
    if isinstance(value, Mapping):
        known = {item.name for item in fields(config_type)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown {config_type.__name__} options {unknown}; expected names from {sorted(known)}")
        return config_type(**value)
    raise TypeError(f"expected a {config_type.__name__} or a mapping, got {type(value).__name__}")


def config_to_dict(config: LossConfig | OptimizerConfig | SchedulerConfig) -> dict[str, Any]:
    """Return the options as built-in types (tuples become lists), for hyperparameters and YAML."""
    values = asdict(config)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}


def build_optimizer(config: OptimizerConfig, parameters: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """Build the optimizer of ``config`` over ``parameters``."""
    if config.name == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay, betas=config.betas)
    return torch.optim.SGD(
        parameters, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, weight_decay=config.weight_decay
    )


def build_scheduler(
    config: SchedulerConfig,
    optimizer: torch.optim.Optimizer,
    optimizer_config: OptimizerConfig,
    *,
    total_steps: float,
    steps_per_epoch: int,
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Build the schedule of ``config``, to be stepped once per optimizer step; None for ``none``.

    Args:
        config: The schedule.
        optimizer: The optimizer it drives.
        optimizer_config: The optimizer's options; ``lr`` is the one-cycle peak.
        total_steps: Optimizer steps in the whole run; must be finite for ``one_cycle``.
        steps_per_epoch: Optimizer steps per epoch, at least 1.

    Raises:
        ValueError: For ``one_cycle`` without a finite number of steps, or
            ``cycle_momentum`` with SGD without momentum.
    """
    if config.name == "none":
        return None
    if config.name == "cosine_warm_restarts":
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            optimizer, T_0=config.restart_epochs * max(1, steps_per_epoch), T_mult=config.restart_mult, eta_min=config.min_lr
        )
    if not math.isfinite(total_steps) or total_steps < 1:
        raise ValueError(
            f"the one_cycle schedule needs a finite run, got {total_steps} optimizer steps; set trainer.max_epochs or trainer.max_steps"
        )
    cycle_momentum = config.cycle_momentum
    if cycle_momentum and optimizer_config.name == "sgd" and optimizer_config.momentum == 0:
        raise ValueError("cycle_momentum=True needs SGD momentum > 0; set momentum or cycle_momentum=False")
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=optimizer_config.lr,
        total_steps=int(total_steps),
        pct_start=config.pct_start,
        div_factor=config.div_factor,
        final_div_factor=config.final_div_factor,
        cycle_momentum=cycle_momentum,
    )
