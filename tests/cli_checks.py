"""Helpers for the tests of the ``pflow-geo`` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from pflow_geo.cli import main

REPOSITORY = Path(__file__).resolve().parent.parent


def run_module(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m pflow_geo`` in a fresh interpreter, as the installed command would."""
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    return subprocess.run([sys.executable, "-m", "pflow_geo", *args], capture_output=True, text=True, env=environment, timeout=300)


def assert_option_rejected(capsys: pytest.CaptureFixture[str], argv: Sequence[str], option: str, expected: str) -> None:
    """Check that ``pflow-geo argv`` exits with status 2 and argparse's message for ``option`` contains ``expected``."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert f"error: argument {option}: {expected}" in err
    assert "Traceback" not in err
