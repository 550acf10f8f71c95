"""The benchmark runner and its outputs on a tiny simulated sample: every row measured, every column filled."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pflow_geo.benchmark.report import COLUMNS, format_markdown, padded_comparison, write_outputs
from pflow_geo.benchmark.runner import Budget, run_benchmark

from .conftest import tiny_settings

pytestmark = pytest.mark.slow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(data_root: Path) -> dict:
    """A 1-epoch benchmark of the tiny PointNet and DGCNN plus the padded PointNet row, in this process."""
    return run_benchmark(tiny_settings(data_root, include_padded=True))


def test_rows_have_finite_columns(results: dict) -> None:
    labels = [row["label"] for row in results["rows"]]
    assert labels == ["pointnet", "dgcnn", "pointnet (padded 800)"]
    for row in results["rows"]:
        assert "error" not in row, row.get("error")
        for heading, read, _ in COLUMNS:
            value = read(row)
            assert value is not None, (row["label"], heading)
            assert math.isfinite(value), (row["label"], heading, value)


def test_rows_measure_sensible_values(results: dict) -> None:
    for row in results["rows"]:
        assert row["params"] > 0
        assert row["epochs"] == pytest.approx(1.0)
        assert row["stopped_by"] == "epochs"
        assert row["throughput_clouds_per_s"] > 0
        assert row["latency_ms"]["1"] > 0
        assert row["latency_ms"]["64"] > 0
        assert row["peak_train_mib"] >= 0
        assert 0 <= row["weighted_f1"] <= 1
        assert 0 <= row["weighted_roc_auc"] <= 1
        assert row["val_clouds"] == results["dataset"]["val"]["clouds"]


def test_padded_row_scores_same_cells(results: dict) -> None:
    variable, padded = results["rows"][0], results["rows"][2]
    assert padded["padded"] is True
    assert padded["val_cells"] == variable["val_cells"]
    # The always-1 classifier sees the same cells and energies in both modes.
    assert padded["scores"]["always_one_weighted_f1"] == pytest.approx(variable["scores"]["always_one_weighted_f1"])
    assert results["dataset"]["padded"]["val_truncation"]["clouds_truncated"] == 0
    comparison = padded_comparison(results["rows"])
    assert comparison is not None
    assert comparison["f1_difference"] == pytest.approx(padded["weighted_f1"] - variable["weighted_f1"])


def test_write_outputs_files(results: dict, tmp_path: Path) -> None:
    paths = write_outputs(results, tmp_path / "out")

    markdown = paths["markdown"].read_text()
    for heading, _, _ in COLUMNS:
        assert heading.format(memory="peak RSS increase") in markdown
    for row in results["rows"]:
        assert f"| {row['label']} |" in markdown
    assert "## PointNet: variable-size against padded to 800 points" in markdown
    assert "![Validation F1(E) against inference latency](f1_vs_latency.png)" in markdown

    record = json.loads(paths["json"].read_text())
    assert [row["label"] for row in record["rows"]] == [row["label"] for row in results["rows"]]
    assert record["settings"]["budget"] == {"epochs": 1, "seconds": None}

    assert paths["plot"].read_bytes().startswith(PNG_SIGNATURE)


def test_markdown_lists_failed_row(results: dict) -> None:
    failed = {"label": "broken", "model": "broken", "padded": False, "error": "RuntimeError: out of memory"}
    markdown = format_markdown({**results, "rows": [*results["rows"], failed]})
    row_line = next(line for line in markdown.splitlines() if line.startswith("| broken |"))
    assert row_line.count("n/a") == len(COLUMNS)
    assert "- broken failed: RuntimeError: out of memory" in markdown


def test_time_budget_in_fresh_process(data_root: Path) -> None:
    settings = tiny_settings(data_root, models=["pointnet"], budget=Budget(seconds=5.0), isolate=True)
    (row,) = run_benchmark(settings)["rows"]

    assert "error" not in row, row.get("error")
    assert row["planned_epochs"] >= 1
    assert row["stopped_by"] in ("epochs", "time")
    assert row["fit_seconds"] < 5.0 + 10.0  # the limit plus Lightning's set-up and tear-down
    assert math.isfinite(row["throughput_clouds_per_s"])
    assert row["memory_method"] == results_memory_method()


def results_memory_method() -> str:
    import torch

    from pflow_geo.benchmark.measure import memory_method

    return memory_method(torch.device("cpu"))
