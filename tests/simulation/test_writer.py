"""Chunked MLTree writing."""

import awkward as ak
import numpy as np
import pytest
import uproot

from pflow_geo.io.writer import MLTreeWriter


def chunk(start: int, size: int) -> dict:
    numbers = np.arange(start, start + size)
    return {
        "eventNumber": numbers,
        "cluster_cell_ID": ak.Array([[[n, n + 1], []] for n in numbers]),
        "cluster_cell_hitsTruthE": ak.Array([[[[1.5]], []] for _ in numbers]),
    }


def test_chunks_append_in_order(tmp_path):
    path = tmp_path / "out.root"
    with MLTreeWriter(path) as writer:
        writer.write_cell_geo({"cell_geo_ID": np.arange(5, dtype=np.uint64), "cell_geo_eta": np.linspace(0, 1, 5)})
        writer.extend(chunk(0, 3))
        writer.extend(chunk(3, 2))
        assert writer.num_events == 5
        assert writer.temporary.exists()
        assert not path.exists()
    with uproot.open(path) as file:
        events = file["EventTree"].arrays()
        geo = file["CellGeo"].arrays()
    assert events["eventNumber"].tolist() == [0, 1, 2, 3, 4]
    assert ak.flatten(events["cluster_cell_ID"], axis=None).layout.dtype == np.uint64
    assert ak.flatten(events["cluster_cell_hitsTruthE"], axis=None).layout.dtype == np.float32
    assert events["cluster_cell_ID"][4].tolist() == [[4, 5], []]
    assert geo["cell_geo_eta"].tolist() == [pytest.approx([0, 0.25, 0.5, 0.75, 1])]


def test_error_removes_partial_file(tmp_path):
    path = tmp_path / "out.root"
    with pytest.raises(RuntimeError):
        with MLTreeWriter(path) as writer:
            writer.extend(chunk(0, 2))
            raise RuntimeError("generation failed")
    assert not path.exists()
    assert not writer.temporary.exists()


def test_changed_branches_rejected(tmp_path):
    writer = MLTreeWriter(tmp_path / "out.root")
    writer.extend(chunk(0, 2))
    with pytest.raises(ValueError, match="missing \\['cluster_cell_ID'\\]"):
        writer.extend({"eventNumber": np.arange(2), "cluster_cell_hitsTruthE": chunk(0, 2)["cluster_cell_hitsTruthE"]})
    writer.abort()
