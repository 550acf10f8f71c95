"""Tests of the masked, energy-weighted cell losses against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.data import Batch, Data

from pflow_geo.losses import (
    WEIGHT_TRANSFORMS,
    CellBCELoss,
    CellDiceLoss,
    CellFocalLoss,
    CombinedLoss,
    binary_cross_entropy,
    focal_loss,
    soft_dice_loss,
    transform_weights,
)

LN3 = math.log(3.0)
LN4_3 = math.log(4.0 / 3.0)

# Three cells with p = sigmoid(logit) = 0.5, 0.75, 0.25 and labels 1, 1, 0,
# then a focus-track point, an other-track point and a padding point.
CELL_LOGITS = [0.0, LN3, -LN3]
CELL_LABELS = [1.0, 1.0, 0.0]
CELL_ENERGIES = [1.0, 2.0, 1.0]  # GeV


def make_data() -> tuple[torch.Tensor, Data]:
    logits = torch.tensor([*CELL_LOGITS, 5.0, -7.0, float("nan")], dtype=torch.float64)
    data = Data(
        y=torch.tensor([*CELL_LABELS, 0.0, 0.0, 0.0]),
        weight=torch.tensor([*CELL_ENERGIES, 0.0, 0.0, 0.0]),
        category=torch.tensor([1, 1, 1, 0, 2, -1]),
        num_nodes=6,
    )
    return logits, data


def cells_only() -> tuple[torch.Tensor, Data]:
    logits = torch.tensor(CELL_LOGITS, dtype=torch.float64)
    data = Data(
        y=torch.tensor(CELL_LABELS),
        weight=torch.tensor(CELL_ENERGIES),
        category=torch.ones(3, dtype=torch.long),
        num_nodes=3,
    )
    return logits, data


# Per-cell losses: BCE is -ln(p_t) with p_t = 0.5, 0.75, 0.75.
BCE_TERMS = [math.log(2.0), LN4_3, LN4_3]
# Focal with gamma 2 and alpha 0.25: alpha_t * (1 - p_t)^2 * (-ln p_t), alpha_t = 0.25, 0.25, 0.75.
FOCAL_TERMS = [0.25 * 0.25 * math.log(2.0), 0.25 * 0.0625 * LN4_3, 0.75 * 0.0625 * LN4_3]


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        ("none", (BCE_TERMS[0] + BCE_TERMS[1] + BCE_TERMS[2]) / 3),
        ("absolute", (BCE_TERMS[0] + 2 * BCE_TERMS[1] + BCE_TERMS[2]) / 4),
        ("square", (BCE_TERMS[0] + 4 * BCE_TERMS[1] + BCE_TERMS[2]) / 6),
    ],
)
def test_bce_hand_values(transform, expected):
    logits, data = make_data()

    loss = CellBCELoss(weight_transform=transform)(logits, data)

    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_focal_hand_values():
    logits, data = make_data()

    loss = CellFocalLoss(gamma=2.0, alpha=0.25, weight_transform="absolute")(logits, data)

    expected = (FOCAL_TERMS[0] + 2 * FOCAL_TERMS[1] + FOCAL_TERMS[2]) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_focal_without_alpha_and_gamma_is_bce():
    logits, data = make_data()

    focal = CellFocalLoss(gamma=0.0, alpha=None, weight_transform="absolute")(logits, data)
    bce = CellBCELoss(weight_transform="absolute")(logits, data)

    assert focal.item() == pytest.approx(bce.item(), rel=1e-12)


def test_dice_hand_values():
    logits, data = make_data()

    loss = CellDiceLoss(smooth=1e-6, weight_transform="absolute")(logits, data)

    # Normalised weights 1/4, 1/2, 1/4: sum(w p y) = 0.5, sum(w p) = 0.5625, sum(w y) = 0.75.
    expected = 1.0 - (2 * 0.5 + 1e-6) / (0.5625 + 0.75 + 1e-6)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert loss.item() == pytest.approx(5.0 / 21.0, rel=1e-5)


def test_dice_perfect_prediction_is_zero():
    logits = torch.tensor([40.0, 40.0, -40.0], dtype=torch.float64)
    target = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)

    loss = soft_dice_loss(logits, target, torch.tensor([1.0, 3.0, 2.0], dtype=torch.float64))

    assert loss.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("transform", WEIGHT_TRANSFORMS)
@pytest.mark.parametrize("loss_class", [CellBCELoss, CellFocalLoss, CellDiceLoss])
def test_non_cell_points_change_nothing(loss_class, transform):
    logits, data = make_data()
    cell_logits, cell_data = cells_only()
    logits.requires_grad_(True)
    loss_fn = loss_class(weight_transform=transform, threshold=1.5)

    loss = loss_fn(logits, data)
    loss.backward()

    assert loss.item() == loss_fn(cell_logits, cell_data).item()
    assert torch.isfinite(loss)
    assert logits.grad[3:].tolist() == [0.0, 0.0, 0.0]


def test_padding_in_batch_changes_nothing():
    logits, data = make_data()
    cell_logits, cell_data = cells_only()
    loss_fn = CombinedLoss({"bce": 1.0, "focal": 1.0, "dice": 1.0}, weight_transform="normalize")
    other = Data(y=torch.tensor([1.0, 0.0]), weight=torch.tensor([3.0, 0.5]), category=torch.tensor([1, 1]), num_nodes=2)
    other_logits = torch.tensor([0.3, -0.2], dtype=torch.float64)

    with_padding = loss_fn(torch.cat([logits, other_logits]), Batch.from_data_list([data, other]))
    without = loss_fn(torch.cat([cell_logits, other_logits]), Batch.from_data_list([cell_data, other]))

    assert with_padding.item() == pytest.approx(without.item(), rel=1e-12)


def test_weight_transforms_hand_values():
    energy = torch.tensor([-2.0, 0.25, 4.0, 1.0], dtype=torch.float64)
    batch = torch.tensor([0, 0, 0, 1])
    magnitude = [2.0, 0.25, 4.0, 1.0]
    mean = sum(magnitude) / 4  # 1.8125
    std = math.sqrt(sum((value - mean) ** 2 for value in magnitude) / 4)
    expected = {
        "none": [1.0, 1.0, 1.0, 1.0],
        "absolute": magnitude,
        "square": [4.0, 0.0625, 16.0, 1.0],
        "sqrt": [math.sqrt(2.0), 0.5, 2.0, 1.0],
        "log1p": [math.log(3.0), math.log(1.25), math.log(5.0), math.log(2.0)],
        "normalize": [2.0 / 6.25, 0.25 / 6.25, 4.0 / 6.25, 1.0],
        "standardize": [max(0.0, 1.0 + (value - mean) / std) for value in magnitude],
        "threshold": [0.0, 0.0, 1.0, 1.0],
    }

    for transform, values in expected.items():
        weights = transform_weights(energy, transform, batch=batch, threshold=0.5)
        assert weights.tolist() == pytest.approx(values, rel=1e-12), transform
    assert expected["standardize"][1] == 0.0  # the clamp is exercised


def test_weight_transform_edge_cases():
    zero_cloud = transform_weights(torch.tensor([0.0, 0.0, 2.0]), "normalize", batch=torch.tensor([0, 0, 1]))
    equal = transform_weights(torch.tensor([3.0, -3.0]), "standardize")
    single_cloud = transform_weights(torch.tensor([1.0, 3.0]), "normalize")

    assert zero_cloud.tolist() == [0.0, 0.0, 1.0]
    assert equal.tolist() == [1.0, 1.0]
    assert single_cloud.tolist() == [0.25, 0.75]
    assert transform_weights(torch.empty(0), "standardize").numel() == 0


def test_unknown_transform_raises():
    with pytest.raises(ValueError, match="unknown weight transform 'cube'"):
        CellBCELoss(weight_transform="cube")


def test_normalize_weighs_clouds_equally():
    # Cloud 0 has ten times the energy of cloud 1; with normalize both count the same.
    logits = torch.tensor([0.0, LN3, -LN3, 0.0], dtype=torch.float64)
    data = Batch.from_data_list(
        [
            Data(y=torch.ones(2), weight=torch.tensor([10.0, 10.0]), category=torch.ones(2, dtype=torch.long), num_nodes=2),
            Data(y=torch.ones(2), weight=torch.tensor([1.0, 1.0]), category=torch.ones(2, dtype=torch.long), num_nodes=2),
        ]
    )

    loss = CellBCELoss(weight_transform="normalize")(logits, data)

    cloud_0 = (math.log(2.0) + LN4_3) / 2
    cloud_1 = (math.log(4.0) + math.log(2.0)) / 2  # p = 0.25 and 0.5 for label 1
    assert loss.item() == pytest.approx((cloud_0 + cloud_1) / 2, rel=1e-12)


def test_combined_loss_sums_terms():
    logits, data = make_data()

    combined = CombinedLoss({"bce": 1.0, "dice": 0.5}, weight_transform="absolute")
    terms = combined.compute_terms(logits, data)
    total = combined(logits, data)

    bce = (BCE_TERMS[0] + 2 * BCE_TERMS[1] + BCE_TERMS[2]) / 4
    dice = 1.0 - (2 * 0.5 + 1e-6) / (0.5625 + 0.75 + 1e-6)
    assert set(terms) == {"bce", "dice"}
    assert terms["bce"].item() == pytest.approx(bce, rel=1e-12)
    assert terms["dice"].item() == pytest.approx(dice, rel=1e-12)
    assert total.item() == pytest.approx(bce + 0.5 * dice, rel=1e-12)


def test_combined_loss_default_is_bce():
    logits, data = make_data()

    assert CombinedLoss()(logits, data).item() == CellBCELoss()(logits, data).item()


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({}, "at least one term"),
        ({"bce": 1.0, "hinge": 1.0}, r"unknown loss names \['hinge'\]"),
        ({"bce": -1.0}, "invalid loss coefficients"),
    ],
)
def test_combined_loss_rejects_bad_terms(terms, message):
    with pytest.raises(ValueError, match=message):
        CombinedLoss(terms)


def test_combined_loss_from_yaml():
    jsonargparse = pytest.importorskip("jsonargparse")
    parser = jsonargparse.ArgumentParser()
    parser.add_argument("--loss", type=CombinedLoss)
    config = parser.parse_string(
        "loss:\n"
        "  class_path: pflow_geo.losses.CombinedLoss\n"
        "  init_args:\n"
        "    terms: {bce: 1.0, focal: 0.5}\n"
        "    weight_transform: threshold\n"
        "    threshold: 0.5\n"
        "    focal_alpha: null\n"
    )

    # ``instantiate`` replaced ``instantiate_classes`` in jsonargparse 4.49.
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
    loss = instantiate(config).loss

    assert isinstance(loss, CombinedLoss)
    assert loss.coefficients == {"bce": 1.0, "focal": 0.5}
    assert loss.weight_transform == "threshold"
    assert loss.threshold == 0.5
    assert loss.losses["focal"].alpha is None


def test_no_cells_gives_zero_with_gradient():
    logits = torch.tensor([1.0, float("nan")], requires_grad=True)
    data = Data(y=torch.zeros(2), weight=torch.zeros(2), category=torch.tensor([0, -1]))
    loss_fn = CombinedLoss({"bce": 1.0, "focal": 1.0, "dice": 1.0})

    loss = loss_fn(logits, data)
    loss.backward()

    assert loss.item() == 0.0
    assert logits.grad.tolist() == [0.0, 0.0]


def test_zero_weights_give_zero_loss():
    logits = torch.tensor([1.0, -2.0])
    target = torch.tensor([0.0, 1.0])
    weight = torch.zeros(2)

    assert binary_cross_entropy(logits, target, weight).item() == 0.0
    assert focal_loss(logits, target, weight).item() == 0.0
    assert soft_dice_loss(logits, target, weight).item() == 0.0


def test_logit_shape_mismatch_raises():
    _, data = make_data()

    with pytest.raises(ValueError, match=r"expected one logit per point, shape \(6,\), got \(5,\)"):
        CellBCELoss()(torch.zeros(5), data)


def test_float32_logits_with_sqrt_weights():
    logits, data = make_data()

    loss = CellBCELoss(weight_transform="sqrt")(logits.float(), data)

    weights = [1.0, math.sqrt(2.0), 1.0]
    expected = sum(w * term for w, term in zip(weights, BCE_TERMS)) / sum(weights)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(expected, rel=1e-6)
