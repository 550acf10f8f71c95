"""``pflow-geo benchmark``: help text, option checks and one small run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pflow_geo.cli import main

from .conftest import EVENTS, PROCESS, SEED


def test_help_lists_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["benchmark", "--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    assert exited.value.code == 0
    for option in ("--process", "--events", "--seed", "--models", "--epochs", "--time-budget", "--output", "--root", "--include-padded"):
        assert option in help_text


def test_budget_options_exclusive(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["benchmark", "--epochs", "1", "--time-budget", "10", "--output", str(tmp_path)])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_budget_required(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["benchmark", "--output", str(tmp_path)])
    assert exited.value.code == 2
    assert "one of the arguments --epochs --time-budget is required" in capsys.readouterr().err


def test_unknown_model_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = main(["benchmark", "--models", "nonexistent", "--epochs", "1", "--root", str(tmp_path), "--output", str(tmp_path)])
    assert status == 1
    assert "unknown models ['nonexistent']" in capsys.readouterr().err


@pytest.mark.slow
def test_run_writes_outputs(capsys: pytest.CaptureFixture[str], data_root: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    args = ["benchmark", "--process", PROCESS, "--events", str(EVENTS), "--seed", str(SEED), "--root", str(data_root)]
    args += ["--models", "pointnet", "--epochs", "1", "--output", str(output), "--no-isolation", "--threads", "1"]
    args += ["--latency-warmup", "1", "--latency-repeats", "2"]

    assert main(args) == 0

    printed = capsys.readouterr().out
    assert "| pointnet |" in printed
    assert (output / "benchmark.md").is_file()
    assert (output / "f1_vs_latency.png").is_file()
    record = json.loads((output / "benchmark.json").read_text())
    assert record["command"].startswith("pflow-geo benchmark")
    assert record["settings"]["process"] == PROCESS
    assert record["machine"]["torch_threads"] == 1
