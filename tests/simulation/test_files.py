"""Simulated MLTree files: branches, types, units, MLTree quirks, determinism and the command line."""

import awkward as ak
import numpy as np
import pytest
import uproot

from pflow_geo.cli import main
from pflow_geo.io import schema
from pflow_geo.io.reader import MLTreeReader
from pflow_geo.simulation import simulate

OPTIONAL_EVENT = (
    "runNumber", "nTrack", "nTruthPart", "truthPartPt", "truthPartE", "truthPartEta", "truthPartPhi", "truthPartMass",
    "truthPartStatus", "trackP", "trackChiSquared", "trackNumberDOF", "trackD0", "trackZ0", "trackEta_PreSamplerB",
    "trackPhi_PreSamplerE", "nCluster", "cluster_E", "cluster_Pt", "cluster_Eta", "cluster_Phi", "cluster_nCells",
)


@pytest.fixture(scope="module")
def rho_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "rho.root"
    simulate("rho", 12, 1, path, chunk_size=5, energy_min_gev=10.0, energy_max_gev=100.0, eta_min=-1.0, eta_max=1.0, unmatched_track_rate=0.5)
    return path


def read(path, names):
    with uproot.open(path) as file:
        return file["EventTree"].arrays(names)


def test_file_has_all_branches(rho_file):
    with uproot.open(rho_file) as file:
        events = set(file["EventTree"].keys())
        geo = set(file["CellGeo"].keys())
        assert file["EventTree"].num_entries == 12
        assert file["CellGeo"].num_entries == 1
    assert set(schema.REQUIRED_EVENT_BRANCHES) <= events
    assert set(OPTIONAL_EVENT) <= events
    assert set(schema.REQUIRED_GEO_BRANCHES) | {"cell_geo_rPerp", "cell_geo_sigma", "cell_geo_volume", *schema.GEO_NEIGHBOURS} <= geo
    assert not (rho_file.parent / "rho.root.part").exists()


def test_branch_types_and_units(rho_file):
    arrays = read(rho_file, ["eventNumber", "cluster_cell_ID", "cluster_cell_E", "cluster_cell_hitsTruthIndex", "cluster_cell_hitsTruthE", "trackTruthParticleIndex", "trackEta_EMB2", "trackEta_EME2", "cluster_E"])
    leaf = lambda name: ak.flatten(arrays[name], axis=None).layout.dtype  # noqa: E731
    assert arrays["eventNumber"].layout.dtype == np.int64
    assert leaf("cluster_cell_ID") == np.uint64
    assert leaf("cluster_cell_E") == np.float32
    assert leaf("cluster_cell_hitsTruthIndex") == np.int32
    assert leaf("trackTruthParticleIndex") == np.int32
    cell_energy = ak.to_numpy(ak.flatten(arrays["cluster_cell_E"], axis=None))
    truth_energy = ak.to_numpy(ak.flatten(ak.sum(arrays["cluster_cell_hitsTruthE"], axis=-1), axis=None))
    # Cell energies in GeV (all at least 5 MeV), truth energies in MeV.
    assert cell_energy.min() >= 0.005
    assert np.median(cell_energy) < 1.0
    assert 100 < np.median(truth_energy[truth_energy > 0]) / np.median(cell_energy) < 10000
    # Barrel tracks have EMB2 intersections and the -1e9 sentinel in the end-cap.
    assert np.all(ak.to_numpy(ak.flatten(arrays["trackEta_EME2"])) == np.float32(-999999999.0))
    assert np.all(np.abs(ak.to_numpy(ak.flatten(arrays["trackEta_EMB2"]))) < 1.5)
    energies = arrays["cluster_E"]
    assert ak.all(energies[:, :-1] >= energies[:, 1:])


def test_truth_lists_padded_and_sorted(rho_file):
    arrays = read(rho_file, ["cluster_nCells", "cluster_cell_ID", "cluster_cell_hitsTruthIndex", "cluster_cell_hitsTruthE", "nTruthPart"])
    assert ak.all(ak.num(arrays["cluster_cell_hitsTruthIndex"], axis=2) == arrays["cluster_nCells"])
    assert ak.all(ak.num(arrays["cluster_cell_ID"], axis=2) <= arrays["cluster_nCells"])
    assert ak.any(ak.num(arrays["cluster_cell_ID"], axis=2) < arrays["cluster_nCells"])
    truth_energy = arrays["cluster_cell_hitsTruthE"]
    assert ak.max(ak.num(truth_energy, axis=3)) <= 3
    assert ak.all(ak.flatten(truth_energy[..., :-1] >= truth_energy[..., 1:], axis=None))
    # Trailing lists, beyond the kept cells, are empty.
    kept = ak.num(arrays["cluster_cell_ID"], axis=2)
    trailing = ak.local_index(arrays["cluster_cell_hitsTruthIndex"], axis=2) >= kept
    assert ak.all(ak.flatten(ak.num(arrays["cluster_cell_hitsTruthIndex"], axis=3)[trailing], axis=None) == 0)


def test_reader_reads_without_skips(rho_file):
    with MLTreeReader(rho_file) as reader:
        chunks = list(reader)
        summary = reader.summary
    assert sum(len(chunk) for chunk in chunks) == 12
    assert summary.events_read == summary.events_kept == 12
    assert not any("skipped" in line for line in summary.lines())
    truth_index = ak.to_numpy(ak.flatten(chunks[0].tracks.truth_index))
    assert -1 in truth_index  # an unmatched track, with unmatched_track_rate = 0.5
    pdg = chunks[0].truth.pdg_id
    matched = chunks[0].tracks.truth_index[chunks[0].tracks.truth_index >= 0]
    assert ak.all(np.abs(pdg[matched]) == 211)


def test_same_seed_same_content_any_workers(tmp_path):
    settings = dict(chunk_size=3, energy_min_gev=5.0, energy_max_gev=50.0)
    one = simulate("jet", 7, 42, tmp_path / "one.root", workers=1, **settings)
    two = simulate("jet", 7, 42, tmp_path / "two.root", workers=2, **settings)
    other = simulate("jet", 7, 43, tmp_path / "other.root", workers=1, **settings)
    with uproot.open(one) as a, uproot.open(two) as b, uproot.open(other) as c:
        for tree in ("EventTree", "CellGeo"):
            assert a[tree].keys() == b[tree].keys()
            first, second = a[tree].arrays(), b[tree].arrays()
            for name in first.fields:
                assert ak.type(first[name]) == ak.type(second[name]), name
                assert ak.array_equal(first[name], second[name]), name
        assert not ak.array_equal(a["EventTree"]["cluster_cell_E"].array(), c["EventTree"]["cluster_cell_E"].array())


def test_unpadded_truth_lists(tmp_path):
    path = simulate("photon", 3, 2, tmp_path / "photon.root", pad_truth_lists=False, truth_contributors=1)
    arrays = read(path, ["cluster_cell_ID", "cluster_cell_hitsTruthIndex"])
    assert ak.all(ak.num(arrays["cluster_cell_hitsTruthIndex"], axis=2) == ak.num(arrays["cluster_cell_ID"], axis=2))
    assert ak.max(ak.num(arrays["cluster_cell_hitsTruthIndex"], axis=3)) <= 1


def test_invalid_settings_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown simulation setting.*energy_min\\b"):
        simulate("rho", 1, 1, tmp_path / "x.root", energy_min=3.0)
    with pytest.raises(ValueError, match="energy range"):
        simulate("rho", 1, 1, tmp_path / "x.root", energy_min_gev=10.0, energy_max_gev=5.0)
    with pytest.raises(ValueError, match="unknown process 'muon'"):
        simulate("muon", 1, 1, tmp_path / "x.root")
    with pytest.raises(ValueError, match="does not exist"):
        simulate("rho", 1, 1, tmp_path / "missing" / "x.root")


def test_command_line(tmp_path, capsys):
    output = tmp_path / "pion.root"
    status = main(["-q", "simulate", "--process", "pion", "--events", "3", "--seed", "5", "--output", str(output), "--no-progress", "--energy-min", "20", "--energy-max", "20"])
    assert status == 0
    with uproot.open(output) as file:
        energy = file["EventTree"]["truthPartE"].array()
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(energy)), 20.0, rtol=1e-6)
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    assert "--pileup-noise-scale" in capsys.readouterr().out


def test_command_line_invalid_setting(tmp_path, capsys):
    status = main(["-q", "simulate", "--process", "rho", "--events", "1", "--seed", "1", "--output", str(tmp_path / "x.root"), "--energy-min", "50", "--energy-max", "5"])
    assert status == 2
    assert capsys.readouterr().err == "error: --energy-min 50 is above --energy-max 5; give --energy-min <= --energy-max\n"
    assert not (tmp_path / "x.root").exists()
