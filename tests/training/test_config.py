"""Optimizer and schedule options: validation and the built torch objects."""

from __future__ import annotations

import math

import pytest
import torch

from pflow_geo.training.config import (
    LossConfig,
    OptimizerConfig,
    SchedulerConfig,
    build_optimizer,
    build_scheduler,
    coerce_config,
    config_to_dict,
)


def _parameters() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(3))]


def test_adamw_settings() -> None:
    optimizer = build_optimizer(OptimizerConfig(lr=0.01, weight_decay=0.1, betas=(0.8, 0.9)), _parameters())
    assert isinstance(optimizer, torch.optim.AdamW)
    group = optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["betas"]) == (0.01, 0.1, (0.8, 0.9))


def test_sgd_momentum_settings() -> None:
    optimizer = build_optimizer(OptimizerConfig(name="sgd", lr=0.1, momentum=0.95, nesterov=True), _parameters())
    assert isinstance(optimizer, torch.optim.SGD)
    group = optimizer.param_groups[0]
    assert (group["momentum"], group["nesterov"]) == (0.95, True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "adam"}, "unknown optimizer"),
        ({"lr": 0.0}, "invalid learning rate"),
        ({"momentum": 1.0}, "invalid momentum"),
        ({"nesterov": True}, "nesterov=True needs"),
    ],
)
def test_invalid_optimizer_options(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OptimizerConfig(**options)


def test_cosine_restart_period_in_epochs() -> None:
    optimizer = build_optimizer(OptimizerConfig(lr=1.0), _parameters())
    config = SchedulerConfig(name="cosine_warm_restarts", restart_epochs=2, min_lr=0.1)
    scheduler = build_scheduler(config, optimizer, OptimizerConfig(lr=1.0), total_steps=100, steps_per_epoch=5)
    assert scheduler.T_0 == 10
    rates = []
    for _ in range(11):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(1.0)
    assert rates[5] == pytest.approx(0.1 + 0.9 * 0.5)
    assert rates[10] == pytest.approx(1.0)  # restarted after T_0 steps


def test_one_cycle_peaks_at_lr() -> None:
    optimizer_config = OptimizerConfig(lr=0.5)
    optimizer = build_optimizer(optimizer_config, _parameters())
    config = SchedulerConfig(name="one_cycle", pct_start=0.25, div_factor=10.0)
    scheduler = build_scheduler(config, optimizer, optimizer_config, total_steps=40, steps_per_epoch=10)
    assert scheduler.total_steps == 40
    rates = []
    for _ in range(40):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.05)
    assert max(rates) == pytest.approx(0.5)
    assert rates.index(max(rates)) in (9, 10)


def test_one_cycle_needs_finite_run() -> None:
    optimizer = build_optimizer(OptimizerConfig(), _parameters())
    with pytest.raises(ValueError, match="needs a finite run"):
        build_scheduler(SchedulerConfig(name="one_cycle"), optimizer, OptimizerConfig(), total_steps=math.inf, steps_per_epoch=3)


def test_one_cycle_momentum_needs_sgd_momentum() -> None:
    sgd = OptimizerConfig(name="sgd", momentum=0.0)
    optimizer = build_optimizer(sgd, _parameters())
    with pytest.raises(ValueError, match="cycle_momentum=True needs SGD momentum"):
        build_scheduler(SchedulerConfig(name="one_cycle"), optimizer, sgd, total_steps=10, steps_per_epoch=1)


def test_no_schedule() -> None:
    optimizer = build_optimizer(OptimizerConfig(), _parameters())
    assert build_scheduler(SchedulerConfig(), optimizer, OptimizerConfig(), total_steps=10, steps_per_epoch=1) is None


def test_invalid_loss_options() -> None:
    with pytest.raises(ValueError, match="unknown loss terms"):
        LossConfig(terms={"hinge": 1.0})
    with pytest.raises(ValueError, match="unknown weight_transform"):
        LossConfig(weight_transform="cube")


def test_coerce_round_trip() -> None:
    config = SchedulerConfig(name="cosine_warm_restarts", restart_epochs=3)
    assert coerce_config(config_to_dict(config), SchedulerConfig) == config
    assert coerce_config(None, LossConfig) == LossConfig()
    with pytest.raises(TypeError, match="expected a LossConfig or a mapping"):
        coerce_config(["bce"], LossConfig)
