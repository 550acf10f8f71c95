"""The demo chain end to end on a tiny sample."""

from __future__ import annotations

import json

import pytest

from pflow_geo.cli import main
from pflow_geo.demo import DemoSettings, default_config, run_demo


def test_demo_default_config_is_in_checkout():
    assert default_config().name == "pointnet.yaml"
    assert default_config().is_file()


def test_demo_missing_config_exits_with_message(tmp_path, capsys):
    status = main(["demo", "--output", str(tmp_path), "--config", str(tmp_path / "missing.yaml")])
    assert status == 1
    assert "missing.yaml not found" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_every_step(tmp_path, capsys):
    metrics = run_demo(DemoSettings(output=tmp_path, events=120, seed=5, epochs=1, workers=1))

    assert set(metrics["methods"]) == {"model", "always_1", "always_0", "cone", "subtraction"}
    assert metrics["split"] == "test"
    written = json.loads((tmp_path / "evaluation" / "metrics.json").read_text())
    assert written["num_cells"] == metrics["num_cells"] > 0
    assert (tmp_path / "evaluation" / "report" / "report.md").is_file()
    assert (tmp_path / "evaluation" / "predictions.parquet").is_file()
    assert list((tmp_path / "runs" / "pointnet").glob("version_*/events.out.tfevents.*"))
    output = capsys.readouterr().out
    assert "subtraction" in output
    assert "tensorboard --logdir" in output
