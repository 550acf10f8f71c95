"""`pflow-geo evaluate` on a checkpoint of a short run: metrics.json, the printed table, the report."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch

from pflow_geo.cli import build_parser
from pflow_geo.cli import main as cli_main
from pflow_geo.datasets import TrackCloudDataset
from pflow_geo.train import main as train_main

from .conftest import fit_args
from .helpers import load_events, scalar_values

METHODS = ["model", "always_1", "always_0", "cone", "subtraction"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, sample_file: Path) -> tuple[Path, list[str]]:
    """last.ckpt of a one-epoch run on the sample, and the arguments of that run."""
    work = tmp_path_factory.mktemp("evaluate")
    args = fit_args(work / "data", sample_file, work / "runs", "--event_displays.num_displays", "0", epochs=1)
    assert train_main(args) == 0
    return work / "runs" / "pointnet" / "version_0" / "checkpoints" / "last.ckpt", args


@pytest.fixture(scope="module")
def evaluated(trained: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Output folder and printed text of `pflow-geo evaluate` on the checkpoint."""
    output = tmp_path_factory.mktemp("evaluated")
    checkpoint, _ = trained
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli_main(["evaluate", "--checkpoint", str(checkpoint), "--output", str(output)]) == 0
    return output, printed.getvalue()


def _test_split(checkpoint: Path) -> TrackCloudDataset:
    options = torch.load(checkpoint, weights_only=True)["datamodule_hyper_parameters"]
    return TrackCloudDataset(options["root"], files=options["files"], split="test", features=options["features"], log=False)


@pytest.mark.slow
def test_evaluate_prints_every_method(evaluated: tuple[Path, str]) -> None:
    output, printed = evaluated
    rows = {}
    for line in printed.splitlines():
        words = line.split()
        if words and words[0] in METHODS:
            rows[words[0]] = words[1:]
    assert list(rows) == METHODS
    assert all(len(values) == 10 for values in rows.values())

    metrics = json.loads((output / "metrics.json").read_text())
    assert rows["model"][0] == f"{metrics['methods']['model']['weighted_f1']:.4f}"
    assert rows["always_0"][0] == "0.0000"


@pytest.mark.slow
def test_evaluate_metrics_json(evaluated: tuple[Path, str], trained: tuple[Path, list[str]]) -> None:
    output, _ = evaluated
    checkpoint, _ = trained
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["split"] == "test"
    assert metrics["epoch"] == 0
    assert list(metrics["methods"]) == METHODS
    expected_keys = {"weighted_f1", "weighted_accuracy", "weighted_precision", "weighted_recall", "weighted_roc_auc", "f1"}
    for method in METHODS:
        assert expected_keys <= set(metrics["methods"][method]), method
    assert metrics["methods"]["always_1"]["weighted_recall"] == 1.0
    assert metrics["methods"]["always_0"]["weighted_f1"] == 0.0

    # Always 1's energy-weighted precision is the energy share of focus-track cells.
    test_split = _test_split(checkpoint)
    cells = test_split._data.category == 1
    energy = test_split._data.weight[cells].abs().double()
    share = float((energy * test_split._data.y[cells].double()).sum() / energy.sum())
    assert metrics["methods"]["always_1"]["weighted_precision"] == pytest.approx(share, rel=1e-6)
    assert metrics["num_cells"] == int(cells.sum())
    assert metrics["num_clouds"] == len(test_split)


@pytest.mark.slow
def test_evaluate_matches_lightning_test(evaluated: tuple[Path, str], trained: tuple[Path, list[str]], tmp_path: Path) -> None:
    output, _ = evaluated
    checkpoint, fit = trained
    save_dir = fit.index("--trainer.logger.init_args.save_dir") + 1
    args = ["test", *fit[1:save_dir], str(tmp_path), *fit[save_dir + 1 :], "--ckpt_path", str(checkpoint)]
    assert train_main(args) == 0

    events = load_events(tmp_path / "pointnet" / "version_0")
    model = json.loads((output / "metrics.json").read_text())["methods"]["model"]
    assert scalar_values(events, "test/f1_weighted")[-1] == pytest.approx(model["weighted_f1"], rel=1e-5)
    assert scalar_values(events, "test/accuracy")[-1] == pytest.approx(model["accuracy"], rel=1e-5)
    assert scalar_values(events, "test/roc_auc_weighted")[-1] == pytest.approx(model["weighted_roc_auc"], rel=1e-5)


@pytest.mark.slow
def test_evaluate_report(trained: tuple[Path, list[str]], tmp_path: Path) -> None:
    checkpoint, _ = trained
    assert cli_main(["evaluate", "--checkpoint", str(checkpoint), "--output", str(tmp_path), "--split", "val", "--report"]) == 0
    assert (tmp_path / "predictions.parquet").is_file()
    assert (tmp_path / "report" / "report.md").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text())["split"] == "val"


def test_missing_checkpoint_fails(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "none.ckpt"
    assert cli_main(["evaluate", "--checkpoint", str(missing), "--output", str(tmp_path)]) == 1
    assert f"checkpoint not found: {missing}" in capsys.readouterr().err


def test_help_lists_train_and_evaluate() -> None:
    text = " ".join(build_parser().format_help().split())
    assert "train train a segmentation model (Lightning CLI; see `pflow-geo train --help`)" in text
    assert "evaluate evaluate a checkpoint" in text
