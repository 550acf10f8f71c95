"""``pflow-geo simulate``: option values and combinations that are rejected before simulating."""

from __future__ import annotations

import pytest

from pflow_geo.cli import main
from tests.cli_checks import assert_option_rejected

REQUIRED = ["--process", "rho", "--events", "1", "--seed", "1"]


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--events", "0", "expected an integer >= 1, got '0'"),
        ("--events", "ten", "expected an integer >= 1, got 'ten'"),
        ("--seed", "-1", "expected an integer >= 0, got '-1'"),
        ("--workers", "0", "expected an integer >= 1, got '0'"),
        ("--chunk-size", "0", "expected an integer >= 1, got '0'"),
        ("--contributors", "0", "expected an integer >= 1, got '0'"),
        ("--energy-min", "0", "expected a finite number > 0, got '0'"),
        ("--energy-max", "inf", "expected a finite number > 0, got 'inf'"),
        ("--eta-min", "-4", "expected a number in [-3.2, 3.2], got '-4'"),
        ("--phi-max", "4", "expected a number in [-pi, pi], got '4'"),
        ("--unmatched-track-rate", "1.5", "expected a probability in [0, 1], got '1.5'"),
        ("--noise-scale", "0", "expected a finite number > 0, got '0'"),
        ("--pileup-noise-scale", "-1", "expected a finite number >= 0, got '-1'"),
    ],
)
def test_rejects_bad_option_value(tmp_path, capsys, option, value, expected):
    arguments = [*REQUIRED, "--output", str(tmp_path / "x.root")]
    if option in ("--events", "--seed"):
        arguments = arguments[: arguments.index(option)] + arguments[arguments.index(option) + 2 :]

    assert_option_rejected(capsys, ["simulate", *arguments, option, value], option, expected)


@pytest.mark.parametrize(("low", "high"), [("--energy-min", "--energy-max"), ("--eta-min", "--eta-max"), ("--phi-min", "--phi-max")])
def test_rejects_minimum_above_maximum(tmp_path, capsys, low, high):
    status = main(["simulate", *REQUIRED, "--output", str(tmp_path / "x.root"), low, "1", high, "0.5"])

    err = capsys.readouterr().err
    assert status == 2
    assert err == f"error: {low} 1 is above {high} 0.5; give {low} <= {high}\n"
    assert "_gev" not in err


def test_missing_output_directory(tmp_path, capsys):
    output = tmp_path / "missing" / "x.root"

    status = main(["simulate", *REQUIRED, "--output", str(output)])

    err = capsys.readouterr().err
    assert status == 1
    assert err == f"error: --output: directory {output.parent} not found; create it first\n"


def test_output_directory_instead_of_file(tmp_path, capsys):
    status = main(["simulate", *REQUIRED, "--output", str(tmp_path)])

    err = capsys.readouterr().err
    assert status == 1
    assert err == f"error: --output: {tmp_path} is a directory; give a file path such as {tmp_path / 'events.root'}\n"
