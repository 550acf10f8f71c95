"""``pflow-geo benchmark``: help text, option checks and one small run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pflow_geo.cli import main
from tests.cli_checks import assert_option_rejected

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

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: --models: unknown model(s) nonexistent; available: all, ")
    assert "pointnet" in err
    assert "Traceback" not in err


def test_all_with_model_names_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = main(["benchmark", "--models", "all", "pointnet", "--epochs", "1", "--output", str(tmp_path)])

    err = capsys.readouterr().err
    assert status == 2
    assert err == "error: --models: give all alone or a list of model names, got all pointnet\n"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_cuda_without_gpu_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["benchmark", "--models", "pointnet", "--epochs", "1", "--device", "cuda", "--root", str(tmp_path), "--output", str(tmp_path)]
    status = main(args)

    err = capsys.readouterr().err
    assert status == 2
    assert err == "error: --device cuda: CUDA is not available on this machine; use --device cpu or auto\n"


def test_missing_config_dir_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    configs = tmp_path / "no_configs"
    args = ["benchmark", "--models", "pointnet", "--epochs", "1", "--config-dir", str(configs)]
    args += ["--files", str(tmp_path / "unused.root"), "--root", str(tmp_path), "--output", str(tmp_path)]

    status = main(args)

    err = capsys.readouterr().err
    assert status == 1
    assert f"error: config file(s) not found: {configs / 'pointnet.yaml'}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--events", "0", "expected an integer >= 1, got '0'"),
        ("--workers", "-2", "expected an integer >= 1, got '-2'"),
        ("--max-points", "0", "expected an integer >= 1, got '0'"),
        ("--time-budget", "nan", "expected a finite number > 0, got 'nan'"),
        ("--device", "gpu", "expected auto, cpu, cuda or cuda:N, got 'gpu'"),
    ],
)
def test_rejects_bad_option_value(capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str, expected: str) -> None:
    args = ["benchmark", "--output", str(tmp_path), option, value]
    if option != "--time-budget":
        args += ["--epochs", "1"]

    assert_option_rejected(capsys, args, option, expected)


def test_help_shows_models_default_as_all(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["benchmark", "--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    assert "registered model names, or all (default: all)" in help_text


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
