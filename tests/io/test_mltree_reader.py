"""MLTreeReader on tiny synthetic MLTree files: one test per known MLTree pitfall."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from tests import mltree_factory as factory
from tests.mltree_factory import GEO_CELLS, SENTINEL, cluster, event, track
from pflow_geo.geometry import EXTRAPOLATION_LAYERS, Sampling
from pflow_geo.io import reader as reader_module
from pflow_geo.io.reader import MLTreeReader

EMB2_COLUMN = EXTRAPOLATION_LAYERS.index(Sampling.EMB2)


def read_all(path, **kwargs):
    """Read every event of ``path`` in one chunk and return the chunk and the read summary."""
    with MLTreeReader(path, **kwargs) as reader:
        chunk = reader.read(0, reader.num_events)
        return chunk, reader.summary


def cell_table(cells):
    """Return {cell id: (energy, truth indices, truth energies)} for the cells of one event."""
    return {
        int(cell["id"]): (float(cell["energy"]), list(cell["truth_index"]), [float(e) for e in cell["truth_energy"]])
        for cell in cells.to_list()
    }


def test_truth_lists_longer_than_cells_truncated(tmp_path):
    # Cluster 0 keeps 2 of its 4 cells but has 4 truth lists. The third list
    # is not empty and must not end up on any cell.
    events = [
        event(
            1,
            tracks=[track(5.0, 0.1, 0.2)],
            clusters=[
                cluster([101, 102], [0.5, 0.25], [[0], [0, 1], [1], []], [[400.0], [200.0, 100.0], [300.0], []]),
                cluster([103], [1.0], [[1]], [[800.0]]),
            ],
            truth_pdg=[211, 22],
        )
    ]
    path = factory.write_events(tmp_path / "long_truth.root", events)

    chunk, summary = read_all(path)

    assert cell_table(chunk.cells[0]) == {
        101: (0.5, [0], [pytest.approx(0.4)]),
        102: (0.25, [0, 1], [pytest.approx(0.2), pytest.approx(0.1)]),
        103: (1.0, [1], [pytest.approx(0.8)]),
    }
    assert summary.corrected[reader_module.TRUTH_LIST_TRUNCATED] == 1


@pytest.mark.parametrize(
    ("dtype", "unmatched", "expected_corrections"),
    [(np.uint32, 4294967295, 1), (np.int32, -1, 0)],
    ids=["unsigned", "signed"],
)
def test_track_truth_index_unmatched(tmp_path, dtype, unmatched, expected_corrections):
    events = [
        event(
            1,
            tracks=[track(5.0, 0.1, 0.2, truth_index=0), track(4.0, 0.3, 0.4, truth_index=unmatched), track(3.0, 0.5, 0.6, truth_index=1)],
            clusters=[cluster([101], [0.5], [[0]], [[400.0]])],
            truth_pdg=[211, -211],
        )
    ]
    path = factory.write_events(tmp_path / "index.root", events, dtypes={"trackTruthParticleIndex": dtype})

    chunk, summary = read_all(path)

    assert chunk.tracks.truth_index.to_list() == [[0, -1, 1]]
    assert summary.corrected[reader_module.UNSIGNED_UNMATCHED_INDEX] == expected_corrections


def test_unequal_track_vectors_skip_event(tmp_path):
    # Each track crosses EMB2 at its own (eta + 0.01, phi + 0.01), so a shift
    # between the kinematic and the layer vectors would show.
    events = [
        event(10, tracks=[track(1.0, 0.1, 0.1, layers={"EMB2": (0.11, 0.11)})], clusters=[cluster([101], [0.5], [[0]], [[400.0]])]),
        event(
            11,
            tracks=[track(2.0, 0.2, 0.2, layers={"EMB2": (0.21, 0.21)}), track(3.0, 0.3, 0.3, layers={"EMB2": (0.31, 0.31)})],
            clusters=[cluster([102], [0.5], [[0]], [[400.0]])],
        ),
        event(
            12,
            tracks=[track(4.0, 0.4, 0.4, layers={"EMB2": (0.41, 0.41)}), track(5.0, 0.5, 0.5, layers={"EMB2": (0.51, 0.51)})],
            clusters=[cluster([103], [0.5], [[0]], [[400.0]])],
        ),
    ]
    branches = factory.event_branches(events)
    # As in MLTree files before mid-2023: the extension of the first track of
    # event 11 failed, so its layer entries are missing but its kinematics are not.
    for layer in EXTRAPOLATION_LAYERS:
        for name in (f"trackEta_{layer.name}", f"trackPhi_{layer.name}"):
            branches[name][1] = branches[name][1][1:]
    path = factory.write_events(tmp_path / "unequal.root", branches)

    chunk, summary = read_all(path)

    assert chunk.entry.tolist() == [0, 2]
    assert chunk.event_number.tolist() == [10, 12]
    assert summary.skipped[reader_module.UNEQUAL_TRACK_VECTORS] == 1
    assert summary.events_read == 3
    assert summary.events_kept == 2
    assert chunk.tracks.pt.to_list() == [[1.0], [4.0, 5.0]]
    assert chunk.tracks.index.to_list() == [[0], [0, 1]]
    emb2_eta = chunk.tracks.layer_eta[:, :, EMB2_COLUMN].to_list()
    assert emb2_eta == [[pytest.approx(0.11)], [pytest.approx(0.41), pytest.approx(0.51)]]
    assert [int(cell["id"]) for cell in ak.flatten(chunk.cells).to_list()] == [101, 103]


def test_layer_sentinel_and_nan_not_crossed(tmp_path):
    layers = {
        "EMB1": (SENTINEL, SENTINEL),  # no intersection
        "EMB3": (SENTINEL, 0.3),  # only eta flagged: still not crossed
        "EME1": (0.3, math.nan),  # NaN phi
        "TileBar0": (math.inf, 0.2),  # infinite eta
    }
    events = [event(1, tracks=[track(5.0, 0.1, 0.2, layers=layers)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])])]
    path = factory.write_events(tmp_path / "sentinel.root", events)

    chunk, summary = read_all(path)

    layer_eta = np.asarray(chunk.tracks.layer_eta[0, 0])
    layer_phi = np.asarray(chunk.tracks.layer_phi[0, 0])
    not_crossed = {layer.name for layer, eta in zip(EXTRAPOLATION_LAYERS, layer_eta) if math.isnan(eta)}
    assert not_crossed == {"EMB1", "EMB3", "EME1", "TileBar0"}
    assert np.array_equal(np.isnan(layer_eta), np.isnan(layer_phi))
    assert layer_eta[EMB2_COLUMN] == pytest.approx(0.1)
    assert layer_phi[EMB2_COLUMN] == pytest.approx(0.2)
    assert summary.corrected[reader_module.LAYER_SENTINEL] == 2
    assert summary.corrected[reader_module.LAYER_NOT_FINITE] == 2


def test_shared_cells_merged(tmp_path):
    # Cell 102 is split between clusters 0 and 1, cell 101 between all three.
    # Each copy carries the cell's whole truth list, in any order.
    events = [
        event(
            1,
            tracks=[track(5.0, 0.1, 0.2)],
            clusters=[
                cluster([101, 102], [0.1, 0.25], [[0], [0, 1]], [[300.0], [200.0, 100.0]]),
                cluster([103, 102, 101], [1.0, 0.75, 0.2], [[1], [1, 0], [0]], [[800.0], [100.0, 200.0], [300.0]]),
                cluster([101], [0.3], [[0]], [[300.0]]),
            ],
            truth_pdg=[211, 22],
        )
    ]
    path = factory.write_events(tmp_path / "shared.root", events)

    chunk, summary = read_all(path)

    cells = chunk.cells[0]
    assert [int(i) for i in cells.id] == [101, 102, 103]
    assert cells.cluster.to_list() == [0, 0, 1]
    assert cell_table(cells) == {
        101: (pytest.approx(0.6), [0], [pytest.approx(0.3)]),
        102: (pytest.approx(1.0), [0, 1], [pytest.approx(0.2), pytest.approx(0.1)]),
        103: (1.0, [1], [pytest.approx(0.8)]),
    }
    assert summary.corrected[reader_module.SHARED_CELL_MERGED] == 2


def test_cells_missing_from_cell_geo_skipped(tmp_path):
    events = [
        event(
            1,
            tracks=[track(5.0, 0.1, 0.2)],
            clusters=[cluster([101, 999, 102], [0.5, 0.7, 0.25], [[0], [1], [1]], [[400.0], [600.0], [200.0]])],
            truth_pdg=[211, 22],
        )
    ]
    path = factory.write_events(tmp_path / "unknown_id.root", events)

    chunk, summary = read_all(path)

    assert cell_table(chunk.cells[0]) == {
        101: (0.5, [0], [pytest.approx(0.4)]),
        102: (0.25, [1], [pytest.approx(0.2)]),
    }
    assert summary.skipped[reader_module.CELL_NOT_IN_GEOMETRY] == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "minus_inf"])
def test_non_finite_cell_energy_dropped(tmp_path, bad):
    events = [
        event(1, tracks=[track(5.0, 0.1, 0.2)], clusters=[cluster([101, 102, 103], [0.5, bad, 1.0], [[0], [0], [0]], [[400.0], [100.0], [900.0]])])
    ]
    path = factory.write_events(tmp_path / "cell_nan.root", events)

    chunk, summary = read_all(path)

    assert cell_table(chunk.cells[0]) == {101: (0.5, [0], [pytest.approx(0.4)]), 103: (1.0, [0], [pytest.approx(0.9)])}
    assert summary.skipped[reader_module.CELL_ENERGY_NOT_FINITE] == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["nan", "inf"])
def test_non_finite_truth_energy_dropped(tmp_path, bad):
    events = [
        event(
            1,
            tracks=[track(5.0, 0.1, 0.2)],
            clusters=[cluster([101, 102], [0.5, 0.25], [[0, 1], [1]], [[bad, 300.0], [200.0]])],
            truth_pdg=[211, 22],
        )
    ]
    path = factory.write_events(tmp_path / "truth_nan.root", events)

    chunk, summary = read_all(path)

    assert cell_table(chunk.cells[0]) == {101: (0.5, [1], [pytest.approx(0.3)]), 102: (0.25, [1], [pytest.approx(0.2)])}
    assert summary.skipped[reader_module.TRUTH_ENERGY_NOT_FINITE] == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["nan", "inf"])
def test_non_finite_track_pt_dropped(tmp_path, bad):
    events = [
        event(
            1,
            tracks=[track(5.0, 0.1, 0.2, layers={"EMB2": (0.11, 0.21)}), track(bad, 0.3, 0.4), track(3.0, 0.5, 0.6, truth_index=1, layers={"EMB2": (0.51, 0.61)})],
            clusters=[cluster([101], [0.5], [[0]], [[400.0]])],
            truth_pdg=[211, -211],
        )
    ]
    path = factory.write_events(tmp_path / "track_nan.root", events)

    chunk, summary = read_all(path)

    tracks = chunk.tracks[0]
    assert tracks.pt.to_list() == [5.0, 3.0]
    assert tracks.index.to_list() == [0, 2]
    assert tracks.truth_index.to_list() == [0, 1]
    assert tracks.layer_eta[:, EMB2_COLUMN].to_list() == [pytest.approx(0.11), pytest.approx(0.51)]
    assert tracks.layer_phi[:, EMB2_COLUMN].to_list() == [pytest.approx(0.21), pytest.approx(0.61)]
    assert summary.skipped[reader_module.TRACK_NOT_FINITE] == 1


def test_units_converted_and_geometry_joined(tmp_path):
    # Truth energies are written in MeV and the noise in MeV; the reader returns GeV.
    ids = [cell.id for cell in GEO_CELLS]
    events = [
        event(
            7,
            tracks=[track(5.0, 0.1, 0.2)],
            clusters=[cluster(ids, [0.5, 0.25, 1.0, 2.0, 0.125], [[0]] * 5, [[500.0], [250.0], [1000.0], [2500.0], [125.0]])],
            truth_energy=[12.5],
        )
    ]
    path = factory.write_events(tmp_path / "units.root", events)

    chunk, _ = read_all(path)

    cells = chunk.cells[0]
    assert [int(i) for i in cells.id] == ids
    assert cells.truth_energy.to_list() == [[0.5], [0.25], [1.0], [2.5], [0.125]]
    assert cells.noise.to_list() == pytest.approx([0.010, 0.020, 0.050, 0.030, 0.150])
    assert cells.sampling.to_list() == [1, 2, 6, 12, 8]
    assert cells.eta.to_list() == pytest.approx([cell.eta for cell in GEO_CELLS])
    assert cells.phi.to_list() == pytest.approx([cell.phi for cell in GEO_CELLS])
    for axis, name in enumerate(("x", "y", "z")):
        expected = [cell.xyz[axis] for cell in GEO_CELLS]
        assert cells[name].to_list() == pytest.approx(expected, abs=1e-3), name
    assert chunk.truth.e.to_list() == [[12.5]]
    assert chunk.truth.pdg_id.to_list() == [[211]]


def test_truth_energy_unit_gev_not_converted(tmp_path):
    events = [factory.many_cell_event(1, 25, cell_energy=1.0, truth_energy=1.5)]
    path = factory.write_events(tmp_path / "truth_gev.root", events, factory.grid_cells(25))

    chunk, _ = read_all(path, truth_energy_unit="GeV")

    assert ak.flatten(chunk.cells.truth_energy, axis=None).to_list() == [1.5] * 25


def standard_events():
    """Two events whose cells and tracks the tests below compare."""
    return [
        event(
            1000,
            tracks=[track(5.0, 0.1, 0.2)],
            clusters=[cluster([101, 102], [0.5, 0.25], [[0], [0, 1]], [[400.0], [200.0, 100.0]]), cluster([103], [1.0], [[1]], [[800.0]])],
            truth_pdg=[211, 22],
        ),
        event(
            1001,
            tracks=[track(3.0, -0.5, -1.0), track(1.5, 0.7, 2.0, truth_index=-1)],
            clusters=[cluster([104, 105], [2.0, 0.125], [[0], [0]], [[2500.0], [100.0]])],
            truth_pdg=[-211],
        ),
    ]


EXPECTED_STANDARD_CELLS = [
    {
        101: (0.5, [0], [pytest.approx(0.4)]),
        102: (0.25, [0, 1], [pytest.approx(0.2), pytest.approx(0.1)]),
        103: (1.0, [1], [pytest.approx(0.8)]),
    },
    {104: (2.0, [0], [pytest.approx(2.5)]), 105: (0.125, [0], [pytest.approx(0.1)])},
]


@pytest.mark.parametrize("layout", ["same_file", "separate_rntuple", "separate_ttree"])
def test_cell_geo_layouts(tmp_path, layout):
    events_path = tmp_path / "events.root"
    if layout == "same_file":
        factory.write_events(events_path, standard_events())
        cell_geo = None
    else:
        factory.write_events(events_path, standard_events(), cells=None)
        cell_geo = tmp_path / "cell_geo.root"
        if layout == "separate_rntuple":
            factory.write_events(cell_geo, None)
        else:
            factory.write_ttrees(cell_geo, {"CellGeo": factory.cell_geo_ttree_branches()})

    chunk, _ = read_all(events_path, cell_geo=cell_geo)

    assert [cell_table(cells) for cells in chunk.cells] == EXPECTED_STANDARD_CELLS
    assert chunk.cells.x.to_list() == [
        pytest.approx([1500.0, 0.0, -400.0], abs=1e-3),
        pytest.approx([0.0, 800.0], abs=1e-3),
    ]
    assert chunk.geometry.noise_branch == "cell_geo_sigma"


def test_cell_geo_ttree_read_as_ttree(tmp_path):
    path = factory.write_ttrees(tmp_path / "cell_geo.root", {"CellGeo": factory.cell_geo_ttree_branches()})

    import uproot

    with uproot.open(path) as file:
        assert file.classnames(cycle=False) == {"CellGeo": "TTree"}


def test_chunked_iteration_matches_one_chunk(tmp_path):
    events = standard_events() + [
        event(1002 + i, tracks=[track(2.0 + i, 0.1 * i, 0.2)], clusters=[cluster([101 + i], [0.5 + i], [[0]], [[400.0]])]) for i in range(3)
    ]
    branches = factory.event_branches(events)
    branches["trackPt"][2] = [2.0, 9.0]  # event 2 gets per-track vectors of unequal length
    path = factory.write_events(tmp_path / "five.root", branches)

    whole, whole_summary = read_all(path)
    with MLTreeReader(path, step_size=2) as reader:
        chunks = list(reader)
        chunked_summary = reader.summary

    assert [len(chunk) for chunk in chunks] == [2, 1, 1]
    assert np.concatenate([chunk.entry for chunk in chunks]).tolist() == [0, 1, 3, 4]
    assert whole.entry.tolist() == [0, 1, 3, 4]
    assert np.concatenate([chunk.event_number for chunk in chunks]).tolist() == [1000, 1001, 1003, 1004]
    assert ak.concatenate([chunk.cells for chunk in chunks]).to_list() == whole.cells.to_list()
    assert ak.concatenate([chunk.tracks for chunk in chunks]).to_list() == whole.tracks.to_list()
    assert chunked_summary.to_dict() == whole_summary.to_dict()
    assert whole_summary.events_read == 5
    assert whole_summary.events_kept == 4


def test_iterate_entry_range(tmp_path):
    path = factory.write_events(tmp_path / "standard.root", standard_events() * 2)

    with MLTreeReader(path, step_size=1) as reader:
        entries = [chunk.entry.tolist() for chunk in reader.iterate(entry_start=1, entry_stop=3)]

    assert entries == [[1], [2]]


def test_chunk_with_every_event_skipped(tmp_path):
    branches = factory.event_branches(standard_events())
    branches["trackPt"] = [[5.0, 1.0], [3.0]]  # both events misaligned
    path = factory.write_events(tmp_path / "all_bad.root", branches)

    chunk, summary = read_all(path)

    assert len(chunk) == 0
    assert ak.num(chunk.cells, axis=0) == 0
    assert summary.skipped[reader_module.UNEQUAL_TRACK_VECTORS] == 2
