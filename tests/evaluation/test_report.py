import json
import math

import numpy as np
import pytest

from pflow_geo.evaluation.baselines import fit_baselines
from pflow_geo.evaluation.displays import select_display_tracks
from pflow_geo.evaluation.predictions import build_table, read_predictions, write_predictions
from pflow_geo.evaluation.report import compute_metrics, write_report
from pflow_geo.evaluation.tracks import summarize_tracks
from pflow_geo.geometry import Sampling

from .builders import Cell, make_cloud, make_table

LAYERS = (int(Sampling.EMB1), int(Sampling.EMB2), int(Sampling.EMB3), int(Sampling.TileBar0), int(Sampling.TileBar1))

FIGURES = [
    "roc_weighted.png",
    "precision_recall_weighted.png",
    "roc_unweighted.png",
    "precision_recall_unweighted.png",
    "rates_vs_track_pt.png",
    "rates_vs_abs_track_eta.png",
    "rates_vs_delta_r.png",
    "rates_vs_layer.png",
    "residual.png",
    "residual_vs_track_pt.png",
    "reliability.png",
    "neutral_energy.png",
    "display_00_worst.png",
    "display_01_typical.png",
]


def random_clouds(seed=0):
    """Three events with two tracks each; neighbouring tracks share some cell ids."""
    rng = np.random.default_rng(seed)
    clouds = []
    for event in range(3):
        for track in range(2):
            eta, phi = rng.uniform(-1.0, 1.0), rng.uniform(-3.0, 3.0)
            cells = []
            for number in range(12):
                focus = rng.uniform() < 0.5
                cells.append(
                    Cell(
                        eta + rng.uniform(-0.14, 0.14),
                        phi + rng.uniform(-0.14, 0.14),
                        float(rng.uniform(0.05, 3.0)),
                        layer=LAYERS[number % len(LAYERS)],
                        frac_focus=float(rng.uniform(0.6, 1.0)) if focus else float(rng.uniform(0.0, 0.3)),
                        cell_id=100 * event + 6 * track + number,
                        cluster=number % 3,
                    )
                )
            clouds.append(
                make_cloud(
                    cells,
                    track_points=[(layer, eta, phi) for layer in LAYERS[:3]],
                    other_points=[(LAYERS[1], eta + 0.1, phi)],
                    num_padding=3,
                    event_number=event,
                    track_index=track,
                    track_pt=float(rng.uniform(2.0, 40.0)),
                    track_eta=eta,
                    track_phi=phi,
                )
            )
    return clouds


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    clouds = random_clouds()
    probabilities = fit_baselines(clouds).predict(clouds)
    rng = np.random.default_rng(1)
    probabilities = {"model": [rng.uniform(size=cloud.num_nodes) for cloud in clouds], **probabilities}
    output = tmp_path_factory.mktemp("report")
    # The report is drawn from the parquet file, as it would be without the model.
    write_predictions(build_table(clouds, probabilities), output / "predictions.parquet")
    table = read_predictions(output / "predictions.parquet")
    metrics = write_report(table, output, num_worst=1, num_typical=1, dpi=30)
    return output, metrics


def test_report_writes_every_figure(report):
    output, _ = report
    text = (output / "report.md").read_text()
    for name in FIGURES:
        assert (output / "figures" / name).stat().st_size > 0, name
        assert f"(figures/{name})" in text, name
    assert "Not drawn" not in text


def test_report_metrics_json(report):
    output, metrics = report

    def reject_constant(name):
        raise AssertionError(f"metrics.json contains {name}")

    written = json.loads((output / "metrics.json").read_text(), parse_constant=reject_constant)
    assert list(written["methods"]) == ["model", "always_1", "always_0", "cone", "subtraction"]
    assert written["num_tracks"] == 6
    assert written["num_cells"] == 72
    assert written["methods"]["always_1"]["weighted_recall"] == 1.0
    assert written["methods"]["always_0"]["weighted_recall"] == 0.0
    assert written["methods"]["always_0"]["residual_median"] == -1.0
    assert set(written["methods"]["model"]["binned"]) == {"track_pt", "abs_track_eta", "delta_r", "layer"}
    assert metrics["methods"]["cone"]["weighted_f1"] == written["methods"]["cone"]["weighted_f1"]


def test_report_notes_undrawable_figure(tmp_path):
    # All cells are focus cells, so no ROC curve exists; the report notes that instead of failing.
    table = make_table(
        {"energy": [1.0, 2.0], "label": [1, 1], "frac_focus": [1.0, 1.0], "track_pt": [5.0, 5.0]},
        {"model": [0.9, 0.2]},
    )
    write_report(table, tmp_path, num_worst=0, num_typical=0, dpi=30)
    text = (tmp_path / "report.md").read_text()
    assert "### ROC, energy-weighted\n\nNot drawn: the ROC curve needs both classes" in text
    assert (tmp_path / "figures" / "residual.png").exists()


def test_metrics_hand_values():
    # One track: 4 GeV focus cell (prob 0.9), 2 GeV half-neutral cell (0.6), 3 GeV neutral cell (0.1).
    # Predicted 6 GeV against 5 GeV true: residual 0.2; neutral energy 3 of 4 kept.
    table = make_table(
        {
            "energy": [4.0, 2.0, 3.0],
            "label": [1, 0, 0],
            "frac_focus": [1.0, 0.5, 0.0],
            "frac_neutral": [0.0, 0.5, 1.0],
            "track_pt": [10.0, 10.0, 10.0],
        },
        {"model": [0.9, 0.6, 0.1]},
    )
    metrics = compute_metrics(table, ["model"])
    model = metrics["methods"]["model"]
    assert metrics["num_tracks"] == 1
    assert metrics["total_energy_gev"] == 9.0
    assert model["residual_median"] == pytest.approx(0.2)
    assert model["residual_iqr"] == 0.0
    assert model["neutral_energy_kept_fraction"] == 0.75
    assert model["weighted_recall"] == 1.0
    assert model["weighted_precision"] == pytest.approx(4.0 / 6.0)
    assert model["f1"] == pytest.approx(2.0 / 3.0)
    assert "always_one_f1" not in model
    assert model["binned"]["layer"]["layers"] == [int(Sampling.EMB2)]
    assert model["residual_vs_track_pt"]["num_tracks"] == [0, 0, 0, 1, 0, 0]
    assert math.isnan(model["residual_vs_track_pt"]["median"][0])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"methods": ["cone"]}, r"methods \['cone'\] have no probability column"),
        ({"reference": "cone"}, "reference method 'cone' is not among"),
    ],
)
def test_report_rejects_unknown_methods(tmp_path, arguments, message):
    table = make_table({"energy": [1.0], "label": [1]}, {"model": [0.9]})
    with pytest.raises(ValueError, match=message):
        write_report(table, tmp_path, **arguments)


def test_display_track_selection():
    # All cells are 1 GeV and assigned, so E_pred = 1 and frac_focus = 1 / (1 + residual).
    # Residuals 0.0, -0.9, 0.6, NaN, 0.3, 0.1, 99, 0.15: track 1 has the largest energy
    # error (9 GeV), ahead of track 6 with the largest residual but a 0.99 GeV error.
    # The finite median is 0.15, so tracks 7 and 5 (0.05 away) are the typical ones.
    residuals = [0.0, -0.9, 0.6, None, 0.3, 0.1, 99.0, 0.15]
    table = make_table(
        {
            "track_index": list(range(8)),
            "energy": [1.0] * 8,
            "frac_focus": [0.0 if r is None else 1.0 / (1.0 + r) for r in residuals],
            "label": [1] * 8,
        },
        {"model": [1.0] * 8},
    )
    summary = summarize_tracks(table, "model")
    chosen = select_display_tracks(summary, num_worst=1, num_typical=2)
    assert [(track.track_index, track.reason) for track in chosen] == [(1, "worst"), (7, "typical"), (5, "typical")]
    assert chosen[0].residual == pytest.approx(-0.9)
