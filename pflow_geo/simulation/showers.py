"""Electromagnetic and hadronic showers as spots in depth and lateral offset.

EM showers (photons, electrons and the pi0 sub-showers inside hadronic
showers) follow the Grindhammer-Peters parametrisation for a sampling
calorimeter, as coded in Geant4 GFlash (hep-ex/0001020). The longitudinal
profile is a Gamma distribution whose shower maximum T and shape alpha
fluctuate together event by event. The radial profile is a core plus a tail
in units of the Moliere radius. Photons start after an exponential depth of
mean 9/7 X0, so most convert in the material in front of the calorimeter.

Hadrons travel a minimum-ionising path up to an exponentially distributed
first interaction (mean free path 1.2 lambda_I for pions and kaons), then
share their energy between an EM part (a fraction f_em drawn from a Beta
distribution around Groom's mean 1 - (E / E0)^-0.17) and a hadronic part
with a Gamma profile in lambda_I (the CMS fast-simulation parameters of
Grindhammer, Rudowicz and Peters) and a two-exponential lateral profile. The
hadronic part's EM-scale signal is its deposited energy times h/e of the
calorimeter it is in (non-compensation: LAr 0.57, Tile 0.73).

Sampling fluctuations: every spot's signal is its energy times a Gamma
variable of mean 1 and variance ``s^2 / e_spot[GeV]``, so the summed signal
has the stochastic term s whatever the number of spots.
"""

from __future__ import annotations

import numpy as np

from .deposits import DepositCollector, ShowerAxis
from .layout import Calorimeter
from .material import Stack
from .particles import ParticleData

__all__ = ["em_shower", "hadron_shower", "mip_path", "MOLIERE_RADIUS_MM", "HADRONIC_RESPONSE"]

def _by_calorimeter(dead, lar, tile, hec):
    """Return a lookup table indexed by ``Calorimeter`` value + 1 (so DEAD = -1 is index 0)."""
    return np.array([dead, lar, tile, hec])


# EM-scale response to the hadronic (non-EM) part of a shower: h/e from e/h =
# 1.74 (LAr EM), 1.36 (Tile), about 1.5 (HEC).
HADRONIC_RESPONSE = _by_calorimeter(0.0, 0.57, 0.73, 0.67)
# EM-scale signal of a minimum-ionising particle per deposited GeV: 1/(e/mip).
_MIP_RESPONSE = _by_calorimeter(0.0, 1.3, 1.1, 1.2)
MOLIERE_RADIUS_MM = _by_calorimeter(39.0, 39.0, 25.0, 20.0)
# Sampling terms s (relative resolution s / sqrt(E[GeV])) for EM and hadronic spots.
_EM_SAMPLING = _by_calorimeter(0.0, 0.10, 0.25, 0.21)
_HADRONIC_SAMPLING = _by_calorimeter(0.0, 0.40, 0.45, 0.40)
# Hadronic lateral profile: an energy density exp(-r / W) per unit area with a
# narrow (W1) and a wide (W2) component, W in mm. W1 takes _CORE_SHARE of the
# energy. The widths are tuned to the two-exponential fits of the ATLAS
# particle-flow cell subtraction (eflowRec, MC12), converted from Delta R to mm.
_HADRONIC_WIDTH_1 = _by_calorimeter(30.0, 25.0, 60.0, 50.0)
_HADRONIC_WIDTH_2 = _by_calorimeter(80.0, 70.0, 150.0, 130.0)
_CORE_SHARE = 0.55

# GFlash parameters of the LAr/Pb accordion: effective Z, critical energy,
# sampling frequency F_s = X0 / (active + passive thickness) and e/mip ratio.
_Z = 60.0
_CRITICAL_ENERGY_GEV = 0.0109
_SAMPLING_FREQUENCY = 3.1
_E_OVER_MIP = 0.69
_MAX_RADIUS_MOLIERE = 5.0


def _sampled_signal(rng: np.random.Generator, energy: np.ndarray, stochastic: np.ndarray) -> np.ndarray:
    """Return energy times a Gamma variable of mean 1 and variance ``stochastic^2 / energy[GeV]``."""
    shape = energy / np.maximum(stochastic, 1e-6) ** 2
    positive = (shape > 0) & (stochastic > 0)
    result = energy.copy()
    result[positive] = energy[positive] * rng.gamma(shape[positive]) / shape[positive]
    return result


def _spot_count(energy: float, per_gev: float, minimum: int, maximum: int) -> int:
    return int(np.clip(energy * per_gev + minimum, minimum, maximum))


def _gflash_profile(rng: np.random.Generator, energy: float) -> tuple[float, float]:
    """Draw the shower maximum T (in X0) and shape alpha of one EM shower of ``energy`` GeV (GFlash sampling parameters)."""
    log_y = np.log(max(energy / _CRITICAL_ENERGY_GEV, 3.0))
    t_hom = max(log_y - 0.812, 0.3)
    alpha_hom = 0.81 + (0.458 + 2.26 / _Z) * log_y
    one_minus_e = 1.0 - _E_OVER_MIP
    t_mean = max(t_hom - 0.55 / _SAMPLING_FREQUENCY - 0.69 * one_minus_e, 0.2)
    alpha_mean = max(alpha_hom - 0.476 / _SAMPLING_FREQUENCY, 1.05)

    sigma_t = 1.0 / (-2.5 + 1.25 * log_y) if log_y > 4.0 else 0.5
    sigma_alpha = 1.0 / (-0.82 + 0.79 * log_y) if log_y > 3.0 else 0.5
    sigma_t, sigma_alpha = min(sigma_t, 0.5), min(sigma_alpha, 0.5)
    rho = np.clip(0.784 - 0.023 * log_y, -1.0, 1.0)
    z1, z2 = rng.standard_normal(2)
    common, apart = np.sqrt((1 + rho) / 2) * z1, np.sqrt((1 - rho) / 2) * z2
    shower_max = t_mean * np.exp(sigma_t * (common + apart))
    alpha = max(alpha_mean * np.exp(sigma_alpha * (common - apart)), 1.05)
    return float(shower_max), float(alpha)


def _em_radius(rng: np.random.Generator, tau: np.ndarray, energy: float) -> np.ndarray:
    """Draw radial distances in Moliere radii at relative depths tau = t / T (GFlash core plus tail)."""
    log_e = np.log(max(energy, 1e-3))
    one_minus_e = 1.0 - _E_OVER_MIP
    inverse_fs = 1.0 / _SAMPLING_FREQUENCY
    core = 0.0251 + 0.00319 * log_e + (0.1162 - 0.000381 * _Z) * tau
    core += -0.0203 * one_minus_e + 0.0397 * inverse_fs * np.exp(-tau)
    k4 = 0.3585 + 0.0412 * log_e
    tail = (0.659 - 0.00309 * _Z) * (np.exp(-2.59 * (tau - 0.645)) + np.exp(k4 * (tau - 0.645)))
    tail += -0.14 * one_minus_e - 0.495 * inverse_fs * np.exp(-tau)
    scaled = (0.401 + 0.00187 * _Z - tau) / (1.313 - 0.0686 * log_e)
    core_share = (2.632 - 0.00094 * _Z) * np.exp(scaled - np.exp(scaled))
    core_share += one_minus_e * (0.348 - 0.642 * inverse_fs * np.exp(-((tau - 1.0) ** 2)))

    width = np.where(rng.uniform(size=len(tau)) < np.clip(core_share, 0.0, 1.0), np.maximum(core, 0.02), np.maximum(tail, 0.05))
    # f(r) = 2 r R^2 / (r^2 + R^2)^2 has the CDF r^2 / (r^2 + R^2); invert it, truncated at 5 R_M.
    limit = _MAX_RADIUS_MOLIERE**2 / (_MAX_RADIUS_MOLIERE**2 + width**2)
    u = rng.uniform(size=len(tau)) * limit
    return width * np.sqrt(u / (1.0 - u))


def _lateral(rng: np.random.Generator, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    angle = rng.uniform(-np.pi, np.pi, len(radius))
    return radius * np.cos(angle), radius * np.sin(angle)


def em_shower(
    rng: np.random.Generator,
    collector: DepositCollector,
    stack: Stack,
    axis: ShowerAxis,
    particle: int,
    energy: float,
    start_x0: float,
    offset: tuple[float, float] = (0.0, 0.0),
) -> None:
    """Deposit an EM shower of ``energy`` GeV starting at cumulative depth ``start_x0``.

    Args:
        offset: Lateral offset of the shower axis from ``axis`` in mm (phi, eta directions).
    """
    if energy <= 0:
        return
    shower_max, alpha = _gflash_profile(rng, energy)
    beta = (alpha - 1.0) / shower_max
    count = _spot_count(energy, 50.0, 20, 500)
    depth = rng.gamma(alpha, 1.0 / beta, count)
    position = start_x0 + depth
    segment = stack.segment_at_x0(position)
    inside = np.minimum(segment, len(stack) - 1)
    calorimeter = stack.calorimeter[inside] + 1
    thickness = stack.x0_high[inside] - stack.x0_low[inside]
    fraction = np.clip((position - stack.x0_low[inside]) / np.maximum(thickness, 1e-9), 0.0, 1.0)

    radius = _em_radius(rng, depth / shower_max, energy) * MOLIERE_RADIUS_MM[calorimeter]
    lateral_x, lateral_y = _lateral(rng, radius)
    truth = np.full(count, energy / count)
    signal = _sampled_signal(rng, truth, _EM_SAMPLING[calorimeter])
    collector.add(stack, axis, particle, segment, fraction, lateral_x + offset[0], lateral_y + offset[1], truth, signal)


def mip_path(
    rng: np.random.Generator, collector: DepositCollector, stack: Stack, axis: ShowerAxis, particle: int, stop_lambda: float, available: float
) -> float:
    """Deposit the ionisation of a charged particle from the origin to depth ``stop_lambda`` (lambda_I).

    One spot per crossed segment at the middle of the crossed part, with a
    Landau-like (Moyal) fluctuation of the energy loss. A particle that runs
    out of its ``available`` energy (GeV) stops there. Returns the total
    energy lost in GeV.
    """
    crossed = stack.lambda_low < stop_lambda
    if not crossed.any():
        return 0.0
    segment = np.flatnonzero(crossed)
    thickness = stack.lambda_high[segment] - stack.lambda_low[segment]
    share = np.clip((stop_lambda - stack.lambda_low[segment]) / np.maximum(thickness, 1e-9), 0.0, 1.0)
    # Moyal variable -ln(Z^2), Z standard normal: mean 1.27, long upper tail.
    moyal = -np.log(np.maximum(rng.standard_normal(len(segment)) ** 2, 1e-12))
    loss = stack.mip_mev[segment] * share * 1e-3 * np.clip(1.0 + 0.12 * (moyal - 1.27), 0.5, 5.0)
    before = np.cumsum(loss) - loss
    loss = np.clip(available - before, 0.0, loss)
    signal = loss * _MIP_RESPONSE[stack.calorimeter[segment] + 1]
    zero = np.zeros(len(segment))
    collector.add(stack, axis, particle, segment, 0.5 * share, zero, zero, loss, signal)
    return float(loss.sum())


def _em_fraction(rng: np.random.Generator, energy: float, scale_gev: float) -> float:
    """Draw the EM fraction of a hadronic shower from a Beta distribution around 1 - (E / E0)^-0.17."""
    mean = float(np.clip(1.0 - (max(energy, 1e-3) / scale_gev) ** -0.17, 0.03, 0.85))
    sigma = float(np.clip(0.23 - 0.015 * np.log(max(energy, 1e-3)), 0.12, 0.22))
    sigma = min(sigma, 0.9 * np.sqrt(mean * (1.0 - mean)))
    common = mean * (1.0 - mean) / sigma**2 - 1.0
    return float(rng.beta(mean * common, (1.0 - mean) * common))


def _hadronic_profile(energy: float) -> tuple[float, float]:
    """Return the Gamma shape and rate (1/lambda_I) of the hadronic part's longitudinal profile."""
    energy = float(np.clip(energy, 2.0, 500.0))
    log_edpar = np.log((0.35 + 0.09 * np.log(energy)) * energy)
    if energy < 10.0:
        return 1.17 + 0.21 * log_edpar, max(2.10 - 0.72 * log_edpar, 0.3)
    return 0.38 + 0.23 * log_edpar, max(0.83 - 0.049 * log_edpar, 0.3)


def hadron_shower(
    rng: np.random.Generator,
    collector: DepositCollector,
    stack: Stack,
    axis: ShowerAxis,
    particle: int,
    species: ParticleData,
    energy: float,
) -> None:
    """Deposit the path and shower of a hadron with ``energy`` GeV available to the shower.

    Charged hadrons ionise up to the first interaction; a hadron that passes
    the whole stack without interacting leaks the rest of its energy.
    """
    first_interaction = rng.exponential(species.lambda_scale)
    lost = mip_path(rng, collector, stack, axis, particle, first_interaction, energy) if species.charge else 0.0
    remaining = max(energy - lost, 0.0)
    if remaining <= 0.0:
        return
    if first_interaction >= stack.total_lambda:
        collector.leaked[particle] += remaining
        return

    em_energy = remaining * _em_fraction(rng, remaining, 2.6 if species.baryon else 1.0)
    hadronic_energy = remaining - em_energy

    # EM part: pi0 sub-showers near the axis, starting from the interaction.
    start_x0 = float(stack.lambda_to_x0(first_interaction))
    pieces = 1 + min(rng.poisson(0.6 * np.log1p(em_energy)), 3)
    for share in rng.dirichlet(np.full(pieces, 1.5)):
        sub_energy = share * em_energy
        distance = min(rng.gamma(2.0, 10.0) * (1.0 + 1.0 / max(sub_energy, 0.05)), 150.0)
        angle = rng.uniform(-np.pi, np.pi)
        conversion = rng.exponential(9.0 / 7.0)
        em_shower(rng, collector, stack, axis, particle, sub_energy, start_x0 + conversion, (distance * np.cos(angle), distance * np.sin(angle)))

    if hadronic_energy <= 0:
        return
    shape, rate = _hadronic_profile(remaining)
    count = _spot_count(hadronic_energy, 30.0, 20, 600)
    depth = first_interaction + rng.gamma(shape, 1.0 / rate, count) * rng.uniform(0.9, 1.2)
    segment = stack.segment_at_lambda(depth)
    inside = np.minimum(segment, len(stack) - 1)
    calorimeter = stack.calorimeter[inside] + 1
    thickness = stack.lambda_high[inside] - stack.lambda_low[inside]
    fraction = np.clip((depth - stack.lambda_low[inside]) / np.maximum(thickness, 1e-9), 0.0, 1.0)

    core = rng.uniform(size=count) < _CORE_SHARE
    width = np.where(core, _HADRONIC_WIDTH_1[calorimeter], _HADRONIC_WIDTH_2[calorimeter])
    lateral_x, lateral_y = _lateral(rng, rng.gamma(2.0, 1.0, count) * width)
    truth = np.full(count, hadronic_energy / count)
    visible = truth * HADRONIC_RESPONSE[calorimeter]
    signal = _sampled_signal(rng, visible, _HADRONIC_SAMPLING[calorimeter])
    collector.add(stack, axis, particle, segment, fraction, lateral_x, lateral_y, truth, signal)
