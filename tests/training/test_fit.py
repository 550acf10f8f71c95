"""End-to-end `python -m pflow_geo.train fit` runs on a small random sample: logs, checkpoints, resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.plugins.hparams import plugin_data_pb2

from pflow_geo.train import main

from .conftest import fit_args
from .helpers import load_events, scalar_values

pytestmark = pytest.mark.slow

EPOCHS = 3


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory: pytest.TempPathFactory, sample_file: Path) -> Path:
    """Run folder of an uninterrupted fit of EPOCHS epochs."""
    work = tmp_path_factory.mktemp("straight")
    assert main(fit_args(work / "data", sample_file, work / "runs", epochs=EPOCHS)) == 0
    return work / "runs" / "pointnet" / "version_0"


def test_fit_logs_figures_per_epoch(straight_run: Path) -> None:
    events = load_events(straight_run)
    scalars = set(events.Tags()["scalars"])
    expected = {
        "val/loss",
        "val/f1_weighted",
        "val/f1",
        "val/accuracy_weighted",
        "val/precision_weighted",
        "val/recall_weighted",
        "val/roc_auc_weighted",
        "val/roc_auc",
        "val/baseline_always1/f1_weighted",
        "val/baseline_always1/accuracy_weighted",
        "val/baseline_always0/f1_weighted",
        "val/baseline_always0/accuracy_weighted",
        "train/loss_epoch",
        "train/loss_bce",
        "train/loss_regularization",
        "train/f1_weighted",
        "train/baseline_always1/f1_weighted",
        "lr-AdamW",
    }
    assert expected <= scalars, sorted(expected - scalars)
    # One value per epoch; the sanity-check validation is not logged.
    assert len(scalar_values(events, "val/f1_weighted")) == EPOCHS
    assert len(scalar_values(events, "train/f1_weighted")) == EPOCHS


def test_fit_logs_curves_displays_hparams(straight_run: Path) -> None:
    events = load_events(straight_run)
    tags = events.Tags()
    assert {"val/pr_curve", "val/pr_curve_weighted"} <= set(tags["tensors"])
    assert len(events.Tensors("val/pr_curve_weighted")) == EPOCHS
    assert sorted(tags["images"]) == ["val/event_display/0", "val/event_display/1"]
    assert len(events.Images("val/event_display/0")) == EPOCHS
    hparams = events.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/experiment"]).experiment
    metric_tags = {info.name.tag for info in experiment.metric_infos}
    assert {"final/val/f1_weighted", "final/val/baseline_always1/f1_weighted", "final/best_val/f1_weighted"} <= metric_tags
    session = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_start_info"]).session_start_info
    assert session.hparams["model_name"].string_value == "pointnet"
    assert session.hparams["optimizer/lr"].number_value == pytest.approx(0.01)
    assert "data/max_points_per_batch" in session.hparams
    assert not [name for name in session.hparams if "_instantiator" in name]
    final = scalar_values(events, "final/val/f1_weighted")
    assert final == [scalar_values(events, "val/f1_weighted")[-1]]
    assert scalar_values(events, "final/epochs") == [EPOCHS]


def test_fit_beats_trivial_baselines(straight_run: Path) -> None:
    events = load_events(straight_run)
    last = {tag: scalar_values(events, tag)[-1] for tag in events.Tags()["scalars"] if tag.startswith("val/")}
    for weighting in ("_weighted", ""):
        assert last[f"val/f1{weighting}"] > last[f"val/baseline_always1/f1{weighting}"]
        assert last[f"val/f1{weighting}"] > last[f"val/baseline_always0/f1{weighting}"]
        assert last[f"val/accuracy{weighting}"] > last[f"val/baseline_always1/accuracy{weighting}"]
        assert last[f"val/accuracy{weighting}"] > last[f"val/baseline_always0/accuracy{weighting}"]


def test_fit_saves_config_and_checkpoints(straight_run: Path) -> None:
    config = yaml.safe_load((straight_run / "config.yaml").read_text())
    assert config["model"]["model_name"] == "pointnet"
    assert config["trainer"]["max_epochs"] == EPOCHS
    assert config["seed_everything"] == 0

    checkpoints = straight_run / "checkpoints"
    best = sorted(checkpoints.glob("best-epoch*.ckpt"))
    assert len(best) == 1
    assert (checkpoints / "last.ckpt").is_file()

    f1 = scalar_values(load_events(straight_run), "val/f1_weighted")
    best_epoch = max(range(EPOCHS), key=lambda epoch: f1[epoch])
    assert best[0].name == f"best-epoch{best_epoch:03d}.ckpt"

    # Built-in types only: loads without unpickling code.
    checkpoint = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert checkpoint["hyper_parameters"]["feature_names"][:6] == ["x", "y", "z", "category", "energy", "distance"]
    assert checkpoint["datamodule_hyper_parameters"]["features"] == ["layer", "delta_eta", "delta_phi"]


def test_last_checkpoint_is_last_epoch(tmp_path: Path, sample_file: Path) -> None:
    # The always-1 F1 is the same every epoch, so the first epoch stays the
    # best and every later epoch must still rewrite last.ckpt.
    constant = "val/baseline_always1/f1_weighted"
    args = fit_args(tmp_path / "data", sample_file, tmp_path / "runs", "--checkpoint.monitor", constant, epochs=EPOCHS)
    assert main(args) == 0
    checkpoints = tmp_path / "runs" / "pointnet" / "version_0" / "checkpoints"
    assert [path.name for path in checkpoints.glob("best-epoch*.ckpt")] == ["best-epoch000.ckpt"]

    best = torch.load(checkpoints / "best-epoch000.ckpt", weights_only=True)
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert best["epoch"] == 0
    assert last["epoch"] == EPOCHS - 1
    assert last["global_step"] == EPOCHS * best["global_step"]


def test_resume_longer_one_cycle_rejected(tmp_path: Path, sample_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(fit_args(tmp_path / "data", sample_file, tmp_path / "runs", epochs=1)) == 0
    last = tmp_path / "runs" / "pointnet" / "version_0" / "checkpoints" / "last.ckpt"
    capsys.readouterr()

    longer = fit_args(tmp_path / "data", sample_file, tmp_path / "runs", "--ckpt_path", str(last), epochs=2)
    assert main(longer) == 2
    message = capsys.readouterr().err
    assert "one_cycle schedule covers" in message
    assert "--model.scheduler.name cosine_warm_restarts or none" in message
    assert "Traceback" not in message


def test_resume_longer_without_schedule(tmp_path: Path, sample_file: Path) -> None:
    no_schedule = ("--model.scheduler.name", "none")
    assert main(fit_args(tmp_path / "data", sample_file, tmp_path / "runs", *no_schedule, epochs=1)) == 0
    checkpoints = tmp_path / "runs" / "pointnet" / "version_0" / "checkpoints"
    first = torch.load(checkpoints / "last.ckpt", weights_only=True)

    longer = fit_args(tmp_path / "data", sample_file, tmp_path / "runs", *no_schedule, "--ckpt_path", str(checkpoints / "last.ckpt"), epochs=2)
    assert main(longer) == 0
    resumed = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert first["epoch"] == 0
    assert resumed["epoch"] == 1
    assert resumed["global_step"] == 2 * first["global_step"]


def test_resume_continues_from_saved_epoch(tmp_path: Path, sample_file: Path, straight_run: Path) -> None:
    stop = '{"class_path": "tests.training.helpers.StopAfterEpoch", "init_args": {"epoch": 1}}'
    interrupted = fit_args(tmp_path / "data", sample_file, tmp_path / "first", "--trainer.callbacks+", stop, epochs=EPOCHS)
    assert main(interrupted) == 0
    saved = tmp_path / "first" / "pointnet" / "version_0" / "checkpoints" / "last.ckpt"
    assert torch.load(saved, weights_only=True)["epoch"] == 1

    resumed_args = fit_args(tmp_path / "data", sample_file, tmp_path / "first", "--ckpt_path", str(saved), epochs=EPOCHS)
    assert main(resumed_args) == 0
    # The resumed run continues in the checkpoint's run folder.
    run_dir = tmp_path / "first" / "pointnet" / "version_0"
    assert sorted(path.name for path in run_dir.parent.iterdir()) == ["version_0"]
    resumed = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    straight = torch.load(straight_run / "checkpoints" / "last.ckpt", weights_only=True)

    assert resumed["epoch"] == straight["epoch"] == EPOCHS - 1
    assert resumed["global_step"] == straight["global_step"]
    assert resumed["lr_schedulers"][0]["last_epoch"] == straight["lr_schedulers"][0]["last_epoch"]
    resumed_state = resumed["optimizer_states"][0]["state"]
    straight_state = straight["optimizer_states"][0]["state"]
    assert resumed_state.keys() == straight_state.keys()
    assert float(resumed_state[0]["step"]) == float(straight_state[0]["step"])
    # Both runs log into one folder, each epoch once.
    f1 = scalar_values(load_events(run_dir), "val/f1_weighted")
    assert len(f1) == EPOCHS
    # The best score tracked before the interruption is restored, not restarted.
    (checkpoint_state,) = [state for key, state in resumed["callbacks"].items() if key.startswith("BestAndLastCheckpoint")]
    assert float(checkpoint_state["best_model_score"]) == pytest.approx(max(f1))
    assert len(list((run_dir / "checkpoints").glob("best-epoch*.ckpt"))) == 1
    # Same data order per epoch, restored optimizer and schedule, no dropout:
    # the weights match those of the uninterrupted run.
    for name, value in straight["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][name], value, rtol=1e-5, atol=1e-6, msg=name)
