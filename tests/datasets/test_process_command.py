"""``pflow-geo process``: exit status and messages for bad input and bad options, and the summary text."""

from __future__ import annotations

import pytest

from pflow_geo.cli import main
from tests import mltree_factory as factory
from tests.cli_checks import assert_option_rejected, run_module
from tests.mltree_factory import cluster, event, track

from .fixtures import write_two_event_file

def test_missing_input_exits_1(tmp_path):
    missing = tmp_path / "nosuch.root"

    result = run_module("process", str(missing), "--root", str(tmp_path / "data"))

    assert result.returncode == 1
    assert result.stderr.endswith(f"error: input file(s) not found: {missing}\n")
    assert "Traceback" not in result.stderr


def test_verbose_adds_traceback(tmp_path):
    missing = tmp_path / "nosuch.root"

    result = run_module("-v", "process", str(missing), "--root", str(tmp_path / "data"))

    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.endswith(f"error: input file(s) not found: {missing}\n")


def test_non_root_input_exits_1(tmp_path, capsys):
    notes = tmp_path / "notes.root"
    notes.write_text("not a ROOT file\n")

    status = main(["process", str(notes), "--root", str(tmp_path / "data")])

    output = capsys.readouterr()
    assert status == 1
    assert output.err.startswith("error: not a ROOT file")
    assert f"\n    file: {notes}\n" in output.err
    assert "Traceback" not in output.err
    assert "error" not in output.out


def test_missing_cell_geo_names_option(tmp_path, capsys):
    events = factory.write_events(
        tmp_path / "events_only.root",
        [event(1, tracks=[track(5.0, 0.1, 0.2)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])])],
        cells=None,
    )

    status = main(["process", str(events), "--root", str(tmp_path / "data")])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: tree 'CellGeo' not found")
    assert f"\n    file: {events}\n" in err
    assert "--cell-geo FILE" in err


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--delta-r", "-1", "expected a number in (0, 1], got '-1'"),
        ("--delta-r", "0", "expected a number in (0, 1], got '0'"),
        ("--delta-r", "1.5", "expected a number in (0, 1], got '1.5'"),
        ("--min-cells", "-1", "expected an integer >= 0, got '-1'"),
        ("--max-points", "0", "expected an integer >= 1, got '0'"),
        ("--workers", "0", "expected an integer >= 1, got '0'"),
        ("--step-size", "-5", "expected an integer >= 1, got '-5'"),
        ("--features", "bogus", "invalid choice: 'bogus'"),
    ],
)
def test_rejects_bad_option_value(tmp_path, capsys, option, value, expected):
    assert_option_rejected(capsys, ["process", "input.root", "--root", str(tmp_path), "--padded", option, value], option, expected)


def test_repeated_feature_exits_2(tmp_path, capsys):
    status = main(["process", "input.root", "--root", str(tmp_path), "--features", "layer", "delta_eta", "layer"])

    err = capsys.readouterr().err
    assert status == 2
    assert err == "error: --features lists layer more than once; name each feature once\n"
    assert not (tmp_path / "processed").exists()


def test_summary_states_min_cells(tmp_path, capsys):
    path = write_two_event_file(tmp_path / "two.root")

    status = main(["-q", "process", str(path), "--root", str(tmp_path / "data"), "--min-cells", "2"])

    assert status == 0
    assert "tracks with fewer than 2 cell(s) in the cone" in capsys.readouterr().out


def test_help_metavars(capsys):
    with pytest.raises(SystemExit):
        main(["process", "--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    for option_with_metavar in ("--root DIR", "--cell-geo FILE", "--delta-r R", "--min-cells N", "--max-points N", "--workers K", "--step-size N"):
        assert option_with_metavar in help_text
    assert "writes MeV (default: MeV)" in help_text
