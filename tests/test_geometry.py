"""ATLAS samplings, track layers, reference surfaces and coordinate helpers of pflow_geo.geometry."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from pflow_geo.geometry import (
    BARREL_SAMPLINGS,
    ENDCAP_SAMPLINGS,
    EXTRAPOLATION_LAYERS,
    SENTINEL_THRESHOLD,
    SURFACES,
    TRACK_LAYERS,
    Sampling,
    cartesian_to_cylindrical,
    cylindrical_to_cartesian,
    delta_phi,
    delta_r,
    eta_phi_z_to_cartesian,
    eta_to_theta,
    layer_intersections,
    theta_to_eta,
    wrap_phi,
)

LN2 = math.log(2.0)  # sinh(ln 2) = 0.75
LN4 = math.log(4.0)  # sinh(ln 4) = 1.875
SENTINEL = np.float32(-999999999.0)

# ATLAS CaloSampling ids, as stored in CellGeo.cell_geo_sampling.
ATLAS_SAMPLINGS = [
    (0, "PreSamplerB"),
    (1, "EMB1"),
    (2, "EMB2"),
    (3, "EMB3"),
    (4, "PreSamplerE"),
    (5, "EME1"),
    (6, "EME2"),
    (7, "EME3"),
    (8, "HEC0"),
    (9, "HEC1"),
    (10, "HEC2"),
    (11, "HEC3"),
    (12, "TileBar0"),
    (13, "TileBar1"),
    (14, "TileBar2"),
    (15, "TileGap1"),
    (16, "TileGap2"),
    (17, "TileGap3"),
    (18, "TileExt0"),
    (19, "TileExt1"),
    (20, "TileExt2"),
    (21, "FCAL0"),
    (22, "FCAL1"),
    (23, "FCAL2"),
]

# Reference surface of each track layer: (barrel, r or |z| in mm).
TRACK_LAYER_SURFACES = {
    "EMB1": (True, 1532.18),
    "EMB2": (True, 1723.89),
    "EMB3": (True, 1923.02),
    "EME1": (False, 3790.03),
    "EME2": (False, 3983.68),
    "EME3": (False, 4195.84),
    "HEC0": (False, 4461.25),
    "HEC1": (False, 4869.5),
    "HEC2": (False, 5424.5),
    "HEC3": (False, 5905.0),
    "TileBar0": (True, 2450.0),
    "TileBar1": (True, 2995.0),
    "TileBar2": (True, 3630.0),
    "TileGap1": (True, 3215.0),
    "TileGap2": (True, 3630.0),
    "TileGap3": (True, 2246.5),
    "TileExt0": (True, 2450.0),
    "TileExt1": (True, 2870.0),
    "TileExt2": (True, 3480.0),
}


@pytest.mark.parametrize(("sampling_id", "name"), ATLAS_SAMPLINGS)
def test_sampling_ids_and_names(sampling_id, name):
    assert Sampling(sampling_id).name == name
    assert Sampling[name] == sampling_id


def test_sampling_enum_complete():
    assert [(s.value, s.name) for s in Sampling] == ATLAS_SAMPLINGS


def test_extrapolation_layers_are_ids_0_to_20():
    assert [int(s) for s in EXTRAPOLATION_LAYERS] == list(range(21))


def test_track_layers_drop_presamplers():
    assert len(TRACK_LAYERS) == 19
    assert [s.name for s in TRACK_LAYERS] == list(TRACK_LAYER_SURFACES)
    assert Sampling.PreSamplerB not in TRACK_LAYERS
    assert Sampling.PreSamplerE not in TRACK_LAYERS


def test_barrel_and_endcap_partition():
    assert BARREL_SAMPLINGS | ENDCAP_SAMPLINGS == set(Sampling)
    assert not BARREL_SAMPLINGS & ENDCAP_SAMPLINGS
    assert {s.name for s in ENDCAP_SAMPLINGS} == {"PreSamplerE", "EME1", "EME2", "EME3", "HEC0", "HEC1", "HEC2", "HEC3", "FCAL0", "FCAL1", "FCAL2"}
    assert Sampling.TileGap3.is_barrel
    assert not Sampling.HEC2.is_barrel


@pytest.mark.parametrize(("name", "surface"), TRACK_LAYER_SURFACES.items())
def test_track_layer_surfaces(name, surface):
    barrel, position = surface
    assert SURFACES[Sampling[name]].barrel is barrel
    assert SURFACES[Sampling[name]].position == position
    assert SURFACES[Sampling[name]].sampling == Sampling[name]


def test_presampler_surfaces():
    assert SURFACES[Sampling.PreSamplerB].barrel
    assert SURFACES[Sampling.PreSamplerB].position == 1422.3
    assert not SURFACES[Sampling.PreSamplerE].barrel
    assert SURFACES[Sampling.PreSamplerE].position == 3600.0


@pytest.mark.parametrize("sampling", [Sampling.FCAL0, Sampling.FCAL1, Sampling.FCAL2])
def test_fcal_has_no_surface(sampling):
    assert sampling not in SURFACES
    with pytest.raises(ValueError, match=rf"sampling {sampling.name} has no reference surface; known layers: PreSamplerB, EMB1"):
        layer_intersections(np.array([0.1]), np.array([0.2]), sampling)


@pytest.mark.parametrize(
    ("phi", "expected"),
    [
        (0.0, 0.0),
        (1.0, 1.0),
        (math.pi, math.pi),
        (-math.pi, math.pi),
        (3 * math.pi, math.pi),
        (-3 * math.pi, math.pi),
        (2 * math.pi + 0.1, 0.1),
        (-math.pi - 0.1, math.pi - 0.1),
        (-math.pi + 0.1, -math.pi + 0.1),
        (-1.5 * math.pi, 0.5 * math.pi),
    ],
)
def test_wrap_phi_into_half_open_interval(phi, expected):
    wrapped = float(wrap_phi(phi))
    assert wrapped == pytest.approx(expected, abs=1e-12)
    assert -math.pi < wrapped <= math.pi


def test_wrap_phi_float32_edge():
    phi = np.array([np.pi, -np.pi], dtype=np.float32)
    wrapped = wrap_phi(phi)
    assert wrapped.dtype == np.float32
    assert wrapped.tolist() == [np.float32(np.pi), np.float32(np.pi)]


@pytest.mark.parametrize(
    ("phi1", "phi2", "expected"),
    [
        (0.3, 0.1, 0.2),
        (0.1, 0.3, -0.2),
        (math.pi - 0.01, -math.pi + 0.01, -0.02),
        (-math.pi + 0.01, math.pi - 0.01, 0.02),
        (math.pi / 2, -math.pi / 2, math.pi),
        (-math.pi / 2, math.pi / 2, math.pi),
    ],
)
def test_delta_phi_wraps(phi1, phi2, expected):
    assert float(delta_phi(phi1, phi2)) == pytest.approx(expected, abs=1e-12)


def test_delta_r_across_phi_edge():
    # deta = 0.3 and dphi = (pi - 0.1) - (-pi + 0.3) - 2 pi = -0.4, so dR = 0.5.
    assert float(delta_r(0.5, math.pi - 0.1, 0.2, -math.pi + 0.3)) == pytest.approx(0.5)


def test_delta_r_on_jagged_awkward():
    eta = ak.Array([[0.3, 0.0], [], [-0.4]])
    phi = ak.Array([[0.4, math.pi - 0.05], [], [-math.pi + 0.05]])

    distance = delta_r(eta, phi, 0.0, -math.pi + 0.05)

    assert isinstance(distance, ak.Array)
    assert ak.num(distance).to_list() == [2, 0, 1]
    assert distance.to_list() == [
        [pytest.approx(math.hypot(0.3, 0.4 + math.pi - 0.05 - 2 * math.pi)), pytest.approx(0.1)],
        [],
        [pytest.approx(0.4)],
    ]


@pytest.mark.parametrize(("eta", "theta"), [(0.0, math.pi / 2), (math.log(math.tan(math.pi / 8)) * -1, math.pi / 4)])
def test_eta_theta_values(eta, theta):
    assert float(eta_to_theta(eta)) == pytest.approx(theta)
    assert float(theta_to_eta(theta)) == pytest.approx(eta, abs=1e-12)


def test_eta_theta_round_trip():
    eta = np.linspace(-4.0, 4.0, 17)
    assert theta_to_eta(eta_to_theta(eta)) == pytest.approx(eta, abs=1e-12)


def test_cylindrical_cartesian_values():
    x, y, z = cylindrical_to_cartesian(LN2, math.pi / 2, 2000.0)
    assert (float(x), float(y), float(z)) == pytest.approx((0.0, 2000.0, 1500.0), abs=1e-9)


def test_cylindrical_cartesian_round_trip():
    rng = np.random.default_rng(7)
    eta = rng.uniform(-3.0, 3.0, 50)
    phi = rng.uniform(-math.pi, math.pi, 50)
    r = rng.uniform(1000.0, 4000.0, 50)

    back_eta, back_phi, back_r = cartesian_to_cylindrical(*cylindrical_to_cartesian(eta, phi, r))

    assert back_eta == pytest.approx(eta, abs=1e-9)
    assert back_phi == pytest.approx(phi, abs=1e-12)
    assert back_r == pytest.approx(r, rel=1e-12)


def test_cartesian_on_beam_axis():
    eta, phi, r = cartesian_to_cylindrical(np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([5.0, -5.0]))
    assert eta.tolist() == [math.inf, -math.inf]
    assert r.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(("eta", "expected_z"), [(LN2, 3000.0), (-LN2, -3000.0)])
def test_eta_phi_z_to_cartesian_sides(eta, expected_z):
    # |z| = 3000 mm at |sinh(eta)| = 0.75 gives r = 4000 mm.
    x, y, z = eta_phi_z_to_cartesian(eta, math.pi / 3, 3000.0)
    assert float(z) == expected_z
    assert float(x) == pytest.approx(4000.0 * math.cos(math.pi / 3))
    assert float(y) == pytest.approx(4000.0 * math.sin(math.pi / 3))


def test_barrel_intersection():
    x, y, z = layer_intersections(np.array([LN2]), np.array([0.0]), Sampling.EMB2)
    assert x.tolist() == pytest.approx([1723.89])
    assert y.tolist() == pytest.approx([0.0])
    assert z.tolist() == pytest.approx([1723.89 * 0.75])


@pytest.mark.parametrize(("eta", "expected_z"), [(LN4, 3983.68), (-LN4, -3983.68)])
def test_endcap_intersection_on_both_sides(eta, expected_z):
    x, y, z = layer_intersections(np.array([eta]), np.array([math.pi / 2]), Sampling.EME2)
    assert z.tolist() == [expected_z]
    assert x.tolist() == pytest.approx([0.0], abs=1e-9)
    assert y.tolist() == pytest.approx([3983.68 / 1.875])


def test_intersection_accepts_integer_sampling():
    by_enum = layer_intersections(np.array([0.4]), np.array([0.2]), Sampling.EME2)
    by_id = layer_intersections(np.array([0.4]), np.array([0.2]), 6)
    for enum_values, id_values in zip(by_enum, by_id):
        assert enum_values.tolist() == id_values.tolist()


@pytest.mark.parametrize("sampling", [Sampling.EMB2, Sampling.EME2])
@pytest.mark.parametrize(
    ("eta", "phi"),
    [(SENTINEL, SENTINEL), (SENTINEL, 0.2), (0.4, SENTINEL), (math.nan, 0.2), (0.4, math.nan)],
    ids=["sentinel", "eta_sentinel", "phi_sentinel", "eta_nan", "phi_nan"],
)
def test_missing_intersection_is_nan(sampling, eta, phi):
    x, y, z = layer_intersections(np.array([eta, 0.4]), np.array([phi, 0.2]), sampling)
    assert np.isnan([x[0], y[0], z[0]]).all()
    assert np.isfinite([x[1], y[1], z[1]]).all()


def test_sentinel_threshold():
    assert SENTINEL < SENTINEL_THRESHOLD
    assert SENTINEL_THRESHOLD == -1.0e5


@pytest.mark.parametrize("sampling", [Sampling.EMB2, Sampling.EME2])
def test_intersections_on_jagged_awkward(sampling):
    eta = ak.Array([[LN2, SENTINEL], [], [-LN4]])
    phi = ak.Array([[0.3, SENTINEL], [], [-2.0]])

    jagged = layer_intersections(eta, phi, sampling)
    flat = layer_intersections(np.array([LN2, SENTINEL, -LN4]), np.array([0.3, SENTINEL, -2.0]), sampling)

    for jagged_values, flat_values in zip(jagged, flat):
        assert isinstance(jagged_values, ak.Array)
        assert ak.num(jagged_values).to_list() == [2, 0, 1]
        values = ak.to_numpy(ak.flatten(jagged_values))
        assert np.array_equal(values, flat_values, equal_nan=True)
        assert np.isnan(values[1])


def test_scalar_inputs_give_scalars():
    x, y, z = layer_intersections(LN4, 0.0, Sampling.EME2)
    outputs = [wrap_phi(4.0), delta_r(0.1, 3.0, 0.2, -3.0), x, y, z]
    for value in outputs:
        assert not isinstance(value, np.ndarray)
        assert np.ndim(value) == 0
    assert (float(x), float(y), float(z)) == pytest.approx((3983.68 / 1.875, 0.0, 3983.68))
