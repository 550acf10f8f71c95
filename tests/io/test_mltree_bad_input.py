"""Unusable MLTree input: each case raises MLTreeInputError naming the file and the item, and
``pflow-geo inspect`` exits with status 1 and prints that message without a traceback."""

from __future__ import annotations

import re

import pytest

from pflow_geo.cli import main
from pflow_geo.errors import MLTreeInputError
from pflow_geo.io.reader import MLTreeReader
from tests import mltree_factory as factory
from tests.mltree_factory import cluster, event, track


def one_event():
    return [event(1, tracks=[track(5.0, 0.1, 0.2)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])])]


def missing_file(tmp_path):
    return tmp_path / "missing.root", None


def text_file(tmp_path):
    path = tmp_path / "notes.root"
    path.write_text("run 1234: EventTree is in the other file\n")
    return path, None


def empty_file(tmp_path):
    path = tmp_path / "empty.root"
    path.write_bytes(b"")
    return path, None


def truncated_file(tmp_path):
    full = factory.write_events(tmp_path / "full.root", one_event())
    data = full.read_bytes()
    path = tmp_path / "half.root"
    path.write_bytes(data[: len(data) // 2])
    return path, None


def truncated_ttree_cell_geo(tmp_path):
    events = factory.write_events(tmp_path / "events.root", one_event(), cells=None)
    full = factory.write_ttrees(tmp_path / "full_geo.root", {"CellGeo": factory.cell_geo_ttree_branches()})
    data = full.read_bytes()
    cell_geo = tmp_path / "half_geo.root"
    cell_geo.write_bytes(data[: len(data) // 2])
    return events, cell_geo


def missing_event_tree(tmp_path):
    return factory.write_events(tmp_path / "geo_only.root", None), None


def missing_cell_geo_tree(tmp_path):
    return factory.write_events(tmp_path / "events_only.root", one_event(), cells=None), None


def missing_event_branch(tmp_path):
    branches = factory.event_branches(one_event())
    del branches["cluster_cell_hitsTruthE"]
    return factory.write_events(tmp_path / "no_truth_energy.root", branches), None


def ttree_without_nested_branches(tmp_path):
    # uproot writes TTree branches one level deep at most, so the cell
    # branches ([cluster][cell] and deeper) are left out.
    branches = factory.event_branches(one_event())
    flat = {name: values for name, values in branches.items() if not name.startswith("cluster_cell_")}
    path = factory.write_ttrees(tmp_path / "ttree_events.root", {"EventTree": flat, "CellGeo": factory.cell_geo_ttree_branches()})
    return path, None


def missing_geo_branch(tmp_path):
    geo = factory.cell_geo_branches()
    del geo["cell_geo_rPerp"]
    return factory.write_events(tmp_path / "no_rperp.root", one_event(), geo), None


def missing_cell_geo_file(tmp_path):
    events = factory.write_events(tmp_path / "events.root", one_event(), cells=None)
    return events, tmp_path / "cell_geo_missing.root"


# (case, pattern of the first message line, item named in the error, the file the error names)
CASES = [
    (missing_file, r"file not found", None, "path"),
    (text_file, r"not a ROOT file: it starts with b'run ' instead of b'root'", None, "path"),
    (empty_file, r"not a ROOT file: it starts with b'' instead of b'root'", None, "path"),
    (truncated_file, r"cannot read tree 'EventTree' \(OSError: .*\)", "EventTree", "path"),
    (truncated_ttree_cell_geo, r"cannot read entries 0\.\.1 of 'CellGeo' \(OSError: .*\)", "CellGeo", "cell_geo"),
    (missing_event_tree, r"tree 'EventTree' not found; objects present: CellGeo", "EventTree", "path"),
    (missing_cell_geo_tree, r"tree 'CellGeo' not found; objects present: EventTree", "CellGeo", "path"),
    (missing_event_branch, r"EventTree lacks 1 required branch\(es\): cluster_cell_hitsTruthE", "cluster_cell_hitsTruthE", "path"),
    (
        ttree_without_nested_branches,
        r"EventTree lacks 4 required branch\(es\): cluster_cell_ID, cluster_cell_E, cluster_cell_hitsTruthIndex, cluster_cell_hitsTruthE",
        "cluster_cell_ID, cluster_cell_E, cluster_cell_hitsTruthIndex, cluster_cell_hitsTruthE",
        "path",
    ),
    (
        missing_geo_branch,
        r"CellGeo lacks required branches: cell_geo_rPerp \(or cell_geo_X, cell_geo_Y, cell_geo_Z\)",
        "cell_geo_rPerp (or cell_geo_X, cell_geo_Y, cell_geo_Z)",
        "path",
    ),
    (missing_cell_geo_file, r"file not found", None, "cell_geo"),
]
CASE_IDS = [case.__name__ for case, *_ in CASES]


def message_pattern(problem: str, path) -> str:
    """Match the start of the problem line and the ``file:`` line of an MLTreeInputError message."""
    return rf"^{problem}[^\n]*\n    file: {re.escape(str(path))}\n"


@pytest.mark.parametrize(("make", "problem", "item", "named_file"), CASES, ids=CASE_IDS)
def test_reader_raises_naming_file_and_item(tmp_path, make, problem, item, named_file):
    path, cell_geo = make(tmp_path)
    expected_file = path if named_file == "path" else cell_geo

    with pytest.raises(MLTreeInputError, match=message_pattern(problem, expected_file)) as raised:
        MLTreeReader(path, cell_geo=cell_geo)

    assert raised.value.path == str(expected_file)
    assert raised.value.item == item
    if item is not None:
        assert f"\n    item: {item}\n" in str(raised.value)
    assert "\n    fix:  " in str(raised.value)


@pytest.mark.parametrize(("make", "problem", "item", "named_file"), CASES, ids=CASE_IDS)
def test_inspect_exits_1_with_message(tmp_path, capsys, make, problem, item, named_file):
    path, cell_geo = make(tmp_path)
    expected_file = path if named_file == "path" else cell_geo
    argv = ["inspect", str(path)] + ([] if cell_geo is None else ["--cell-geo", str(cell_geo)])

    status = main(argv)

    output = capsys.readouterr()
    assert status == 1
    assert re.search(rf"(?m)^error: {problem}\n    file: {re.escape(str(expected_file))}\n", output.err)
    assert "Traceback" not in output.err
    assert output.out.rstrip().endswith("error(s))")


def test_missing_cell_geo_fix_names_option(tmp_path, capsys):
    path, _ = missing_cell_geo_tree(tmp_path)

    status = main(["inspect", str(path)])

    err = capsys.readouterr().err
    assert status == 1
    assert "    fix:  pass a file that contains 'CellGeo', or pass the geometry file as cell_geo (pflow-geo: --cell-geo FILE)\n" in err


def unit_case(tmp_path, *, cell_energy, truth_energy, noise_mev=20.0):
    cells = factory.grid_cells(25, noise_mev=noise_mev)
    events = [factory.many_cell_event(1, 25, cell_energy=cell_energy, truth_energy=truth_energy)]
    return factory.write_events(tmp_path / "units.root", events, cells)


# (cell energy and truth energy as written, noise in the file, problem, item, fix)
UNIT_CASES = [
    (
        1.0,
        1.5,
        20.0,
        r"cluster_cell_hitsTruthE does not look like MeV: the median ratio of a cell's truth energy to its energy is 0.0015",
        "cluster_cell_hitsTruthE",
        "pass truth_energy_unit='GeV' (command line: --truth-energy-unit GeV)",
    ),
    (
        1000.0,
        1000.0,
        20.0,
        r"cluster_cell_E looks like MeV: the median cell energy is 1000",
        "cluster_cell_E",
        "MLTree stores cluster_cell_E in GeV",
    ),
    (
        1.0,
        1000.0,
        0.02,
        r"cell_geo_sigma looks like GeV: the median cell noise is 0.02",
        "cell_geo_sigma",
        "MLTree stores cell_geo_sigma in MeV",
    ),
]
UNIT_IDS = ["truth_in_gev", "cells_in_mev", "noise_in_gev"]


@pytest.mark.parametrize(("cell_energy", "truth_energy", "noise_mev", "problem", "item", "fix"), UNIT_CASES, ids=UNIT_IDS)
def test_wrong_units_raise_with_fix(tmp_path, cell_energy, truth_energy, noise_mev, problem, item, fix):
    path = unit_case(tmp_path, cell_energy=cell_energy, truth_energy=truth_energy, noise_mev=noise_mev)

    with MLTreeReader(path) as reader:
        with pytest.raises(MLTreeInputError, match=message_pattern(problem, path)) as raised:
            reader.read(0, 1)

    assert raised.value.item == item
    assert fix in raised.value.hint


@pytest.mark.parametrize(("cell_energy", "truth_energy", "noise_mev", "problem", "item", "fix"), UNIT_CASES, ids=UNIT_IDS)
def test_inspect_wrong_units_exit_1(tmp_path, capsys, cell_energy, truth_energy, noise_mev, problem, item, fix):
    path = unit_case(tmp_path, cell_energy=cell_energy, truth_energy=truth_energy, noise_mev=noise_mev)

    status = main(["inspect", str(path)])

    output = capsys.readouterr()
    assert status == 1
    assert re.search(rf"(?m)^error: {problem}", output.err)
    assert fix in output.err
    assert "Traceback" not in output.err


def test_unit_check_off_reads_wrong_units(tmp_path):
    path = unit_case(tmp_path, cell_energy=1000.0, truth_energy=1000.0)

    with MLTreeReader(path, check_units=False) as reader:
        chunk = reader.read(0, 1)

    assert chunk.cells.energy.to_list() == [[1000.0] * 25]


def test_correct_units_pass(tmp_path):
    path = unit_case(tmp_path, cell_energy=1.0, truth_energy=1500.0)

    with MLTreeReader(path) as reader:
        chunk = reader.read(0, 1)

    assert chunk.cells.truth_energy.to_list() == [[[1.5]] * 25]
