"""`pflow-geo train` and `pflow-geo evaluate`: exit status and one-line messages for bad input and bad options."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from pflow_geo.cli import main as cli_main
from pflow_geo.errors import CheckpointError
from pflow_geo.train import main as train_main
from pflow_geo.training.checkpoints import read_checkpoint
from tests.cli_checks import assert_option_rejected

from .conftest import fit_args

CHECKPOINT_FIX = "    fix:  pass a .ckpt file that `pflow-geo train` wrote, e.g. runs/<model>/version_<n>/checkpoints/last.ckpt\n"


def not_zip(tmp_path: Path) -> Path:
    path = tmp_path / "rho.root"
    path.write_bytes(b"root\x00\x00\xf0\x12" + bytes(200))
    return path


def truncated_checkpoint(tmp_path: Path) -> Path:
    full = tmp_path / "full.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}}, full)
    data = full.read_bytes()
    path = tmp_path / "half.ckpt"
    path.write_bytes(data[: len(data) // 2])
    return path


def zip_without_tensors(tmp_path: Path) -> Path:
    path = tmp_path / "notes.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a checkpoint")
    return path


def checkpoint_without_state(tmp_path: Path) -> Path:
    path = tmp_path / "weights.ckpt"
    torch.save({"weight": torch.zeros(2)}, path)
    return path


def folder(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoints"
    path.mkdir()
    return path


# (file maker, start of the problem line)
BAD_CHECKPOINTS = [
    (not_zip, "not a checkpoint written by `pflow-geo train` (not a zip archive, or a truncated one)"),
    (truncated_checkpoint, "not a checkpoint written by `pflow-geo train` (not a zip archive, or a truncated one)"),
    (zip_without_tensors, "cannot read the file as a weights-only checkpoint ("),
    (checkpoint_without_state, "not a Lightning checkpoint with state_dict and hyper_parameters"),
    (folder, "this is a folder, not a checkpoint file"),
]
BAD_CHECKPOINT_IDS = [make.__name__ for make, _ in BAD_CHECKPOINTS]


@pytest.mark.parametrize(("make", "problem"), BAD_CHECKPOINTS, ids=BAD_CHECKPOINT_IDS)
def test_read_checkpoint_raises_checkpoint_error(tmp_path: Path, make, problem: str) -> None:
    path = make(tmp_path)

    with pytest.raises(CheckpointError) as raised:
        read_checkpoint(path)

    assert str(raised.value).startswith(problem)
    assert raised.value.path == str(path)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(("make", "problem"), BAD_CHECKPOINTS, ids=BAD_CHECKPOINT_IDS)
def test_evaluate_bad_checkpoint_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture, make, problem: str) -> None:
    path = make(tmp_path)

    status = cli_main(["evaluate", "--checkpoint", str(path), "--output", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"error: {problem}")
    assert f"\n    file: {path}\n" in err
    assert err.endswith(CHECKPOINT_FIX)
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--threshold", "1.5", "expected a probability in [0, 1], got '1.5'"),
        ("--device", "gpu", "expected auto, cpu, cuda or cuda:N, got 'gpu'"),
        ("--max-points-per-batch", "0", "expected an integer >= 1, got '0'"),
    ],
)
def test_evaluate_rejects_bad_option_value(tmp_path: Path, capsys: pytest.CaptureFixture, option: str, value: str, expected: str) -> None:
    assert_option_rejected(capsys, ["evaluate", "--checkpoint", "x.ckpt", "--output", str(tmp_path), option, value], option, expected)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_evaluate_cuda_without_gpu_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = cli_main(["evaluate", "--checkpoint", "x.ckpt", "--output", str(tmp_path), "--device", "cuda"])

    assert status == 2
    assert capsys.readouterr().err == "error: --device cuda: CUDA is not available on this machine; use --device cpu or auto\n"


def test_train_missing_data_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nosuch.root"
    args = fit_args(tmp_path / "data", missing, tmp_path / "runs", epochs=1)

    status = cli_main(["train", *args])

    err = capsys.readouterr().err
    assert status == 1
    assert err.endswith(f"error: input file(s) not found: {missing}\n")
    assert "Traceback" not in err


def test_train_bad_ckpt_path_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture, sample_file: Path) -> None:
    not_checkpoint = not_zip(tmp_path)
    args = fit_args(tmp_path / "data", sample_file, tmp_path / "runs", "--ckpt_path", str(not_checkpoint), epochs=1)

    status = train_main(args)

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: not a checkpoint written by `pflow-geo train`")
    assert f"\n    file: {not_checkpoint}\n" in err
    assert "Traceback" not in err
    assert not (tmp_path / "data" / "processed").exists()


def test_train_invalid_option_value_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture, sample_file: Path) -> None:
    args = fit_args(tmp_path / "data", sample_file, tmp_path / "runs", "--data.batch_size", "0", epochs=1)

    status = train_main(args)

    err = capsys.readouterr().err
    assert status == 2
    assert err.endswith("error: batch_size must be at least 1, got 0\n")
    assert "Traceback" not in err
