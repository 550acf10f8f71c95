"""Tests of the cell segmentation metrics: hand values, exact epoch sums and distributed sync."""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pflow_geo.metrics import SegmentationMetrics, binary_roc_auc, score_names, segmentation_scores

# Six cells, then a focus-track point and a padding point that must be ignored.
# With threshold 0.5 the cells are TP, FP, FN, TP, TN, FP.
PROBABILITIES = [0.9, 0.8, 0.3, 0.6, 0.2, 0.6, 0.99, 0.1]
LABELS = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
ENERGIES = [2.0, 1.0, 0.5, -4.0, 0.25, 1.0, 0.0, 0.0]  # GeV; the -4 GeV cell weighs 4
CATEGORIES = [1, 1, 1, 1, 1, 1, 0, -1]

# Unweighted: TP 2, FP 2, TN 1, FN 1, so P = 3 and N = 3.
# Weighted by |E|: TP 6, FP 2, TN 0.25, FN 0.5, so P = 6.5 and N = 2.25.
EXPECTED = {
    "accuracy": 3 / 6,
    "precision": 2 / 4,
    "recall": 2 / 3,
    "f1": 4 / 7,
    # Positive-negative pairs ranked right: 0.9 beats 3, 0.3 beats 1, 0.6 beats 1 and ties 1.
    "roc_auc": 5.5 / 9,
    "weighted_accuracy": 6.25 / 8.75,
    "weighted_precision": 6 / 8,
    "weighted_recall": 6 / 6.5,
    "weighted_f1": 12 / 14.5,
    # 2 * 2.25 + 0.5 * 0.25 + 4 * 0.25 + 0.5 * 4 * 1 = 7.625 over 6.5 * 2.25.
    "weighted_roc_auc": 7.625 / (6.5 * 2.25),
    "always_one_accuracy": 3 / 6,
    "always_one_precision": 3 / 6,
    "always_one_recall": 1.0,
    "always_one_f1": 6 / 9,
    "always_one_roc_auc": 0.5,
    "always_one_weighted_accuracy": 6.5 / 8.75,
    "always_one_weighted_precision": 6.5 / 8.75,
    "always_one_weighted_recall": 1.0,
    "always_one_weighted_f1": 13 / 15.25,
    "always_one_weighted_roc_auc": 0.5,
    "always_zero_accuracy": 3 / 6,
    "always_zero_precision": 0.0,
    "always_zero_recall": 0.0,
    "always_zero_f1": 0.0,
    "always_zero_roc_auc": 0.5,
    "always_zero_weighted_accuracy": 2.25 / 8.75,
    "always_zero_weighted_precision": 0.0,
    "always_zero_weighted_recall": 0.0,
    "always_zero_weighted_f1": 0.0,
    "always_zero_weighted_roc_auc": 0.5,
}


def make_epoch(num_cells: int, seed: int) -> dict[str, torch.Tensor]:
    """Build cells with tied scores and dyadic weights, so every sum is exact in float64."""
    generator = torch.Generator().manual_seed(seed)
    labels = (torch.rand(num_cells, generator=generator) < 0.4).float()
    scores = torch.randint(0, 17, (num_cells,), generator=generator).float() / 16
    scores = torch.where(labels == 1, (scores + 0.25).clamp(max=1.0), scores)
    energies = (torch.randint(-8, 200, (num_cells,), generator=generator).float()) / 8
    category = torch.randint(-1, 3, (num_cells,), generator=generator)
    return {"probabilities": scores, "target": labels, "weight": energies, "category": category}


def brute_force_auc(scores: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> float:
    positive = labels == 1
    s_pos, w_pos = scores[positive].double(), weights[positive].double()
    s_neg, w_neg = scores[~positive].double(), weights[~positive].double()
    pair_weight = w_pos[:, None] * w_neg[None, :]
    wins = (s_pos[:, None] > s_neg[None, :]).double() + 0.5 * (s_pos[:, None] == s_neg[None, :]).double()
    return float((pair_weight * wins).sum() / (w_pos.sum() * w_neg.sum()))


def test_scores_hand_values():
    scores = segmentation_scores(PROBABILITIES, LABELS, ENERGIES, category=CATEGORIES)

    assert list(scores) == score_names()
    for name, expected in EXPECTED.items():
        assert scores[name] == pytest.approx(expected, rel=1e-12, abs=1e-15), name


def test_scores_accept_numpy_and_torch():
    from_numpy = segmentation_scores(
        np.array(PROBABILITIES, dtype=np.float32), np.array(LABELS), np.array(ENERGIES), category=np.array(CATEGORIES)
    )
    from_torch = segmentation_scores(
        torch.tensor(PROBABILITIES), torch.tensor(LABELS), torch.tensor(ENERGIES), category=torch.tensor(CATEGORIES)
    )

    assert from_numpy == from_torch
    assert from_torch["weighted_f1"] == pytest.approx(EXPECTED["weighted_f1"], rel=1e-12)


def test_scores_without_weights_are_unweighted():
    cells = slice(0, 6)

    scores = segmentation_scores(PROBABILITIES[cells], LABELS[cells])

    assert scores["weighted_precision"] == scores["precision"]
    assert scores["weighted_roc_auc"] == pytest.approx(EXPECTED["roc_auc"], rel=1e-12)


def test_metric_matches_hand_values():
    metric = SegmentationMetrics()

    metric.update(
        torch.tensor(PROBABILITIES), torch.tensor(LABELS), torch.tensor(ENERGIES), torch.tensor(CATEGORIES)
    )
    scores = metric.compute()

    assert list(scores) == score_names()
    for name, expected in EXPECTED.items():
        assert scores[name].item() == pytest.approx(expected, rel=1e-12, abs=1e-15), name


def test_threshold_is_strict():
    scores = segmentation_scores([0.5, 0.5000001], [1, 1])

    assert scores["recall"] == 0.5


def test_batch_states_sum_to_epoch():
    epoch = make_epoch(500, seed=1)
    metric = SegmentationMetrics()
    for start in range(0, 500, 73):
        metric.update(**{name: values[start : start + 73] for name, values in epoch.items()})

    batched = metric.compute()
    whole = segmentation_scores(**_functional_arguments(epoch))

    for name in score_names():
        assert batched[name].item() == whole[name], name


def test_epoch_differs_from_mean_of_batches():
    # The check above matters: averaging batch figures would give another number.
    epoch = make_epoch(500, seed=1)
    batches = [{name: values[start : start + 73] for name, values in epoch.items()} for start in range(0, 500, 73)]

    mean_of_batches = np.mean([segmentation_scores(**_functional_arguments(batch))["weighted_f1"] for batch in batches])
    whole = segmentation_scores(**_functional_arguments(epoch))["weighted_f1"]

    assert mean_of_batches != pytest.approx(whole, rel=1e-6)


def test_merge_state_equals_single_metric():
    epoch = make_epoch(300, seed=2)
    first, second, single = SegmentationMetrics(), SegmentationMetrics(), SegmentationMetrics()
    first.update(**{name: values[:120] for name, values in epoch.items()})
    second.update(**{name: values[120:] for name, values in epoch.items()})
    single.update(**epoch)

    first.merge_state(second)
    merged = first.compute()
    expected = single.compute()

    for name in score_names():
        assert merged[name].item() == expected[name].item(), name


def test_roc_auc_matches_pairwise_count():
    epoch = make_epoch(400, seed=3)
    weights = epoch["weight"].abs()

    unweighted = binary_roc_auc(epoch["probabilities"], epoch["target"])
    weighted = binary_roc_auc(epoch["probabilities"], epoch["target"], weights)

    ones = torch.ones_like(weights)
    assert unweighted.item() == pytest.approx(brute_force_auc(epoch["probabilities"], epoch["target"], ones), rel=1e-12)
    assert weighted.item() == pytest.approx(brute_force_auc(epoch["probabilities"], epoch["target"], weights), rel=1e-12)


def test_roc_auc_ignores_sample_order():
    epoch = make_epoch(400, seed=4)
    order = torch.randperm(400, generator=torch.Generator().manual_seed(5))
    weights = epoch["weight"].abs()

    original = binary_roc_auc(epoch["probabilities"], epoch["target"], weights)
    shuffled = binary_roc_auc(epoch["probabilities"][order], epoch["target"][order], weights[order])

    assert shuffled.item() == original.item()


def test_roc_auc_extremes():
    labels = torch.tensor([0.0, 0.0, 1.0, 1.0])

    assert binary_roc_auc(torch.tensor([0.1, 0.2, 0.8, 0.9]), labels).item() == 1.0
    assert binary_roc_auc(torch.tensor([0.9, 0.8, 0.2, 0.1]), labels).item() == 0.0
    assert binary_roc_auc(torch.full((4,), 0.3), labels).item() == 0.5
    assert math.isnan(binary_roc_auc(torch.tensor([0.1, 0.9]), torch.tensor([1.0, 1.0])).item())


@pytest.mark.filterwarnings("ignore:The ``compute`` method of metric SegmentationMetrics was called before")
def test_single_class_and_empty_inputs():
    only_positive = segmentation_scores([0.2, 0.7], [1, 1], [1.0, 3.0])
    empty = SegmentationMetrics().compute()

    assert only_positive["weighted_recall"] == 0.75
    assert only_positive["always_one_recall"] == 1.0
    assert only_positive["always_one_weighted_precision"] == 1.0
    assert math.isnan(only_positive["roc_auc"])
    assert math.isnan(only_positive["always_zero_weighted_roc_auc"])
    assert empty["accuracy"].item() == 0.0
    assert empty["always_one_recall"].item() == 0.0
    assert math.isnan(empty["weighted_roc_auc"].item())


def test_metric_without_roc_auc():
    metric = SegmentationMetrics(roc_auc=False)

    metric.update(torch.tensor(PROBABILITIES), torch.tensor(LABELS), torch.tensor(ENERGIES), torch.tensor(CATEGORIES))
    scores = metric.compute()

    assert list(scores) == score_names(roc_auc=False)
    assert not hasattr(metric, "scores")
    assert scores["weighted_f1"].item() == pytest.approx(EXPECTED["weighted_f1"], rel=1e-12)


def test_reset_clears_states():
    metric = SegmentationMetrics()
    metric.update(torch.tensor([0.9]), torch.tensor([0.0]), torch.tensor([1.0]))
    metric.reset()

    metric.update(torch.tensor([0.9]), torch.tensor([1.0]), torch.tensor([1.0]))

    assert metric.compute()["precision"].item() == 1.0


def test_logits_are_rejected():
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\].*Apply torch.sigmoid"):
        SegmentationMetrics().update(torch.tensor([2.5, -1.0]), torch.tensor([1.0, 0.0]), torch.ones(2))


def test_non_binary_labels_are_rejected():
    with pytest.raises(ValueError, match=r"labels must be 0 or 1, got \[0.0, 0.5\]"):
        segmentation_scores([0.1, 0.9], [0.0, 0.5])


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="expected arrays of one shape"):
        segmentation_scores([0.1, 0.9], [0.0, 1.0, 1.0])


def _functional_arguments(epoch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        "probabilities": epoch["probabilities"],
        "labels": epoch["target"],
        "weights": epoch["weight"],
        "category": epoch["category"],
    }


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _distributed_worker(rank: int, world_size: int, port: int, output_path: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        epoch = make_epoch(600, seed=11)
        # Uneven shards: rank 0 gets the first 100 points in two batches, rank 1 the other 500.
        bounds = [(0, 40), (40, 100)] if rank == 0 else [(100, 350), (350, 600)]
        metric = SegmentationMetrics()
        for start, stop in bounds:
            metric.update(**{name: values[start:stop] for name, values in epoch.items()})
        scores = metric.compute()
        if rank == 0:
            torch.save({name: value.cpu() for name, value in scores.items()}, output_path)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process(tmp_path):
    output_path = tmp_path / "scores.pt"

    mp.spawn(_distributed_worker, args=(2, _free_loopback_port(), str(output_path)), nprocs=2, join=True)

    distributed = torch.load(output_path, weights_only=True)
    single = SegmentationMetrics()
    single.update(**make_epoch(600, seed=11))
    expected = single.compute()
    for name in score_names():
        assert distributed[name].item() == expected[name].item(), name
