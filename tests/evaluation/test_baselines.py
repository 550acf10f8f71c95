import numpy as np
import pytest

from pflow_geo.evaluation.baselines import (
    BASELINE_METHODS,
    CONE_RADII,
    ConeBaseline,
    constant_predictions,
    fit_baselines,
)
from pflow_geo.geometry import Sampling

from .builders import Cell, make_cloud

EMB2 = int(Sampling.EMB2)


def training_cloud():
    # Focus cells at ΔR 0.005 (4 GeV) and 0.025 (2 GeV); others at 0.045 (3 GeV) and 0.15 (1 GeV).
    # Energy-weighted F1: 0.8 for R <= 0.02, 1.0 for R = 0.03 and 0.04, 12/15 up to 0.15, 12/16 above.
    return make_cloud(
        [
            Cell(0.0, 0.005, 4.0, frac_focus=1.0),
            Cell(0.0, 0.025, 2.0, frac_focus=1.0),
            Cell(0.0, 0.045, 3.0),
            Cell(0.0, 0.15, 1.0),
        ],
        track_points=[(EMB2, 0.0, 0.0)],
    )


def test_cone_radii_grid():
    assert len(CONE_RADII) == 20
    assert CONE_RADII[0] == 0.01
    assert CONE_RADII[-1] == 0.2


def test_cone_picks_best_f1_radius():
    cone = ConeBaseline().fit([training_cloud()])
    assert cone.radius == 0.03
    assert cone.scores[0.01] == pytest.approx(0.8)
    assert cone.scores[0.04] == pytest.approx(1.0)
    assert cone.scores[0.1] == pytest.approx(0.8)
    assert cone.scores[0.2] == pytest.approx(0.75)


def test_cone_predicts_inside_radius():
    cone = ConeBaseline(radii=(0.03,)).fit([training_cloud()])
    cloud = make_cloud([Cell(0.0, 0.02, 1.0), Cell(0.0, 0.035, 1.0)], track_points=[(EMB2, 0.0, 0.0)], num_padding=1)
    assert cone.predict([cloud])[0].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_cone_predict_before_fit_raises():
    with pytest.raises(RuntimeError, match="not fitted"):
        ConeBaseline().predict([training_cloud()])


def test_cone_rejects_invalid_radii():
    with pytest.raises(ValueError, match="positive"):
        ConeBaseline(radii=(0.1, 0.0))


def test_cone_fit_without_cells_raises():
    with pytest.raises(ValueError, match="no cell"):
        ConeBaseline().fit([make_cloud([], track_points=[(EMB2, 0.0, 0.0)])])


def test_constant_predictions_only_on_cells():
    cloud = make_cloud([Cell(0.0, 0.02, 1.0)], track_points=[(EMB2, 0.0, 0.0)], other_points=[(EMB2, 0.1, 0.1)])
    assert constant_predictions([cloud], 1.0)[0].tolist() == [0.0, 1.0, 0.0]
    assert constant_predictions([cloud], 0.0)[0].tolist() == [0.0, 0.0, 0.0]


def test_fit_baselines_predicts_every_method():
    baselines = fit_baselines([training_cloud()])
    assert baselines.cone.radius == 0.03
    assert baselines.subtraction.e_over_p_mean is not None
    cloud = make_cloud([Cell(0.0, 0.02, 1.0), Cell(0.0, 0.035, 1.0)], track_points=[(EMB2, 0.0, 0.0)], num_padding=1)
    outputs = baselines.predict([cloud])
    assert tuple(outputs) == BASELINE_METHODS
    for method, per_cloud in outputs.items():
        assert len(per_cloud) == 1, method
        assert per_cloud[0].dtype == np.float32, method
        assert per_cloud[0].shape == (4,), method
    assert outputs["always_1"][0].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert outputs["cone"][0].tolist() == [0.0, 1.0, 0.0, 0.0]
