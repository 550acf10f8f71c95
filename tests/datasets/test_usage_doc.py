"""The loading snippet of docs/usage.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pflow_geo.simulation import simulate

USAGE = Path(__file__).resolve().parents[2] / "docs" / "usage.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.slow
def test_usage_snippet_runs_as_written(tmp_path, monkeypatch):
    snippet = python_blocks(USAGE.read_text())[0]
    assert 'files=["rho.root"]' in snippet
    monkeypatch.chdir(tmp_path)
    simulate("rho", 40, seed=3, output="rho.root")

    namespace: dict = {}
    exec(compile(snippet, str(USAGE), "exec"), namespace)

    train, val = namespace["train"], namespace["val"]
    assert len(train) > 0
    assert len(set(train._data.event_number.tolist()) & set(val._data.event_number.tolist())) == 0
    assert namespace["labels"].numel() == namespace["energies"].numel() > 0
    assert (tmp_path / "data" / "rho" / "processed").is_dir()
