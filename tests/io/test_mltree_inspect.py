"""inspect_mltree and ``pflow-geo inspect`` on tiny MLTree files with known pitfall counts."""

from __future__ import annotations

import json
import math

import awkward as ak
import numpy as np
import pytest

from pflow_geo.cli import main
from pflow_geo.commands import inspect as inspect_command
from pflow_geo.io.inspect import DEFAULT_NUM_EVENTS, inspect_mltree
from tests import mltree_factory as factory
from tests.mltree_factory import SENTINEL, cluster, event, track

# Pitfall counts in the first two events of pitfall_file(); event 1 is skipped
# as a whole, so nothing in it adds to the other counts.
EXPECTED_PITFALLS = {
    "truth_lists_longer_than_cells": 1,
    "unsigned_unmatched_truth_index": 1,
    "unequal_track_vectors": 1,
    "layer_sentinels": 2,
    "shared_cells": 1,
    "cells_not_in_cell_geo": 1,
    "non_finite_cell_energy": 1,
    "non_finite_truth_energy": 1,
    "non_finite_track": 1,
    "non_finite_layer_value": 1,
}


def pitfall_file(tmp_path):
    """Write three events; the first two contain every known pitfall once (sentinels twice)."""
    events = [
        event(
            1,
            tracks=[
                track(5.0, 0.1, 0.2, truth_index=0, layers={"EMB1": (SENTINEL, SENTINEL), "EME1": (SENTINEL, SENTINEL)}),
                track(4.0, 0.3, 0.4, truth_index=4294967295, layers={"EMB3": (0.3, math.nan)}),
                track(math.nan, 0.5, 0.6, truth_index=1),
            ],
            clusters=[
                # 4 truth lists for 2 kept cells; cell 999 is not in CellGeo.
                cluster([101, 102], [0.5, 0.25], [[0], [0, 1], [], []], [[400.0], [200.0, 100.0], [], []]),
                cluster([102, 999, 103, 104], [0.75, 0.5, math.nan, 1.0], [[0, 1], [0], [1], [0]], [[200.0, 100.0], [300.0], [50.0], [math.inf]]),
            ],
            truth_pdg=[211, 22],
        ),
        event(2, tracks=[track(3.0, 0.1, 0.1), track(2.0, 0.2, 0.2)], clusters=[cluster([105], [0.5], [[0]], [[400.0]])]),
        event(3, tracks=[track(3.0, 0.1, 0.1)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])]),
    ]
    branches = factory.event_branches(events)
    branches["trackEta_EMB2"][1] = [0.1]  # the second event's per-track vectors are of unequal length
    return factory.write_events(tmp_path / "pitfalls.root", branches, dtypes={"trackTruthParticleIndex": np.uint32})


def test_inspect_counts_every_pitfall(tmp_path):
    path = pitfall_file(tmp_path)

    report = inspect_mltree(path, num_events=2)

    assert report.usable
    assert report.errors == []
    assert report.events_checked == 2
    assert {pitfall.name: pitfall.count for pitfall in report.pitfalls} == EXPECTED_PITFALLS
    assert report.summary.events_read == 2
    assert report.summary.events_kept == 1
    assert report.track_truth_index_type == "std::vector<std::uint32_t>"


def test_inspect_reads_at_most_num_events(tmp_path):
    path = pitfall_file(tmp_path)

    report = inspect_mltree(path, num_events=100)

    assert report.events_checked == 3
    assert report.summary.events_read == 3
    assert report.summary.events_kept == 2


def test_inspect_describes_trees(tmp_path):
    path = pitfall_file(tmp_path)

    report = inspect_mltree(path)

    assert report.objects == {str(path): {"EventTree": "RNTuple", "CellGeo": "RNTuple"}}
    event_tree = report.tree("EventTree")
    assert event_tree.kind == "RNTuple"
    assert event_tree.entries == 3
    assert event_tree.required_missing == []
    assert event_tree.optional_present == [
        "trackEta_PreSamplerB",
        "trackEta_PreSamplerE",
        "trackPhi_PreSamplerB",
        "trackPhi_PreSamplerE",
        "truthPartE",
    ]
    # eventNumber, 4 track, 42 layer, 4 cell and 2 truth-particle branches.
    assert len(event_tree.branches) == 53
    cell_geo = report.tree("CellGeo")
    assert cell_geo.kind == "RNTuple"
    assert cell_geo.entries == 1
    assert cell_geo.required_missing == []
    assert cell_geo.optional_present == ["cell_geo_rPerp", "cell_geo_sigma"]
    assert cell_geo.branches == ["cell_geo_ID", "cell_geo_eta", "cell_geo_phi", "cell_geo_rPerp", "cell_geo_sampling", "cell_geo_sigma"]


def test_inspect_separate_ttree_cell_geo(tmp_path):
    events_path = factory.write_events(tmp_path / "events.root", [event(1, tracks=[track(5.0, 0.1, 0.2)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])])], cells=None)
    geo_path = factory.write_ttrees(tmp_path / "cell_geo.root", {"CellGeo": factory.cell_geo_ttree_branches()})

    report = inspect_mltree(events_path, geo_path)

    assert report.usable
    assert report.cell_geo_path == str(geo_path)
    assert report.objects == {str(events_path): {"EventTree": "RNTuple"}, str(geo_path): {"CellGeo": "TTree"}}
    cell_geo = report.tree("CellGeo")
    assert cell_geo.kind == "TTree"
    assert cell_geo.path == str(geo_path)
    assert cell_geo.entries == 1
    assert cell_geo.required_missing == []
    assert report.track_truth_index_type == "std::vector<std::int32_t>"


def test_inspect_unit_checks_passed(tmp_path):
    events = [factory.many_cell_event(1, 25, cell_energy=0.8, truth_energy=1200.0)]
    path = factory.write_events(tmp_path / "units.root", events, factory.grid_cells(25, noise_mev=40.0))

    report = inspect_mltree(path)

    checks = {check.branch: check for check in report.units}
    assert [check.status for check in report.units] == ["passed", "passed", "passed"]
    assert checks["cluster_cell_E"].value == pytest.approx(0.8)
    assert checks["cluster_cell_hitsTruthE"].value == pytest.approx(1.5)
    assert checks["cell_geo_sigma"].value == pytest.approx(40.0)


def test_inspect_unit_checks_need_enough_cells(tmp_path):
    path = pitfall_file(tmp_path)

    report = inspect_mltree(path)

    assert [check.status for check in report.units] == ["not checked", "not checked", "passed"]
    assert report.units[0].note == "not checked: 4 cells read, at least 20 needed"
    assert report.units[1].note == "not checked because the cluster_cell_E check was not made"


def test_inspect_truth_declared_gev_but_in_mev(tmp_path):
    events = [factory.many_cell_event(1, 25, cell_energy=1.0, truth_energy=1500.0)]
    path = factory.write_events(tmp_path / "units.root", events, factory.grid_cells(25))

    report = inspect_mltree(path, truth_energy_unit="GeV")

    assert not report.usable
    assert len(report.errors) == 1
    assert report.errors[0].item == "cluster_cell_hitsTruthE"
    assert report.errors[0].hint == "pass truth_energy_unit='MeV' (command line: --truth-energy-unit MeV)"
    assert report.units[1].value == pytest.approx(1500.0)


def test_inspect_reports_missing_branches_of_both_trees(tmp_path):
    branches = factory.event_branches([event(1, tracks=[track(5.0, 0.1, 0.2)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])])])
    del branches["trackPhi_EMB2"]
    geo = factory.cell_geo_branches()
    del geo["cell_geo_sampling"]
    path = factory.write_events(tmp_path / "both_missing.root", branches, geo)

    report = inspect_mltree(path)

    assert not report.usable
    assert report.tree("EventTree").required_missing == ["trackPhi_EMB2"]
    assert report.tree("CellGeo").required_missing == ["cell_geo_sampling"]
    assert sorted(error.item for error in report.errors) == ["cell_geo_sampling", "trackPhi_EMB2"]
    assert report.pitfalls == []
    assert report.events_checked == 0


def test_inspect_rejects_bad_num_events(tmp_path):
    with pytest.raises(ValueError, match="num_events must be a positive number of events, got 0"):
        inspect_mltree(tmp_path / "unused.root", num_events=0)


def test_cli_inspect_text_report(tmp_path, capsys):
    path = pitfall_file(tmp_path)

    status = main(["inspect", str(path), "--events", "2"])

    output = capsys.readouterr()
    lines = output.out.splitlines()
    assert status == 0
    assert output.err == ""
    assert f"EventTree in {path}: RNTuple, 3 entries, 53 branches" in lines
    assert f"CellGeo in {path}: RNTuple, 1 entry, 6 branches" in lines
    assert "  required branches missing: none" in lines
    assert "  trackTruthParticleIndex stored as: std::vector<std::uint32_t>" in lines
    assert "checks over the first 2 event(s), 1 kept:" in lines
    assert "  cells shared by several clusters: 1, merged into one cell, energies summed" in lines
    assert "  tracks with unsigned trackTruthParticleIndex 4294967295: 1, read as unmatched (-1)" in lines
    assert "  track layers with the -1e9 no-intersection sentinel: 2, layer treated as not crossed" in lines
    assert "  cell_geo_sigma in MeV: passed (median cell noise in MeV: 30)" in lines
    assert lines[-1] == "result: usable"


def test_cli_inspect_json_report(tmp_path, capsys):
    path = pitfall_file(tmp_path)

    status = main(["inspect", str(path), "--events", "2", "--json"])

    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["usable"] is True
    assert report["errors"] == []
    assert report["events_checked"] == 2
    assert {pitfall["name"]: pitfall["count"] for pitfall in report["pitfalls"]} == EXPECTED_PITFALLS
    assert [tree["name"] for tree in report["trees"]] == ["EventTree", "CellGeo"]
    assert report["trees"][0]["kind"] == "RNTuple"
    assert report["trees"][0]["entries"] == 3
    assert report["summary"]["skipped"]["event: per-track vectors of unequal length"] == 1
    assert [check["status"] for check in report["units"]] == ["not checked", "not checked", "passed"]


def test_cli_inspect_json_report_of_missing_file(tmp_path, capsys):
    path = tmp_path / "missing.root"

    status = main(["inspect", str(path), "--json"])

    output = capsys.readouterr()
    report = json.loads(output.out)
    assert status == 1
    assert report["usable"] is False
    assert report["errors"] == [f"file not found\n    file: {path}\n    fix:  check the path; simulated files are made with `pflow-geo simulate`"]
    assert output.err.startswith("error: file not found\n")


def test_cli_default_events_matches_library():
    assert inspect_command.DEFAULT_EVENTS == DEFAULT_NUM_EVENTS


def test_inspect_empty_event_tree_warns(tmp_path):
    branches = factory.event_branches([event(1, tracks=[track(5.0, 0.1, 0.2)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])])])
    empty = {name: ak.Array(values)[:0] for name, values in branches.items()}
    path = factory.write_events(tmp_path / "empty.root", empty)

    report = inspect_mltree(path)

    assert report.usable
    assert report.tree("EventTree").entries == 0
    assert report.events_checked == 0
    assert report.warnings == ["EventTree has no entries, so no pitfall or unit check was made"]
    assert "  EventTree has no entries, so no pitfall or unit check was made" in report.lines()
