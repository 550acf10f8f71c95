"""The demo chain end to end on a tiny sample."""

from __future__ import annotations

import json

import pytest

from pflow_geo.cli import main
from pflow_geo.demo import DemoSettings, default_config, run_demo
from tests.cli_checks import assert_option_rejected


def test_demo_default_config_is_in_checkout():
    assert default_config().name == "pointnet.yaml"
    assert default_config().is_file()


def test_demo_missing_config_exits_with_message(tmp_path, capsys):
    status = main(["demo", "--output", str(tmp_path), "--config", str(tmp_path / "missing.yaml")])
    err = capsys.readouterr().err
    assert status == 1
    assert "missing.yaml not found" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--events", "0", "expected an integer >= 1, got '0'"),
        ("--epochs", "-1", "expected an integer >= 1, got '-1'"),
        ("--workers", "0", "expected an integer >= 1, got '0'"),
        ("--seed", "-3", "expected an integer >= 0, got '-3'"),
    ],
)
def test_demo_rejects_bad_option_value(tmp_path, capsys, option, value, expected):
    assert_option_rejected(capsys, ["demo", "--output", str(tmp_path), option, value], option, expected)


def test_demo_help_metavars(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])

    usage = " ".join(capsys.readouterr().out.split())
    assert "[--output DIR] [--events N] [--seed S] [--epochs E] [--workers K] [--config FILE]" in usage


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
