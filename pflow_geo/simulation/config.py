"""Settings of the fast simulation, with their units and allowed ranges."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["SimulationConfig", "PROCESSES", "MAX_ABS_ETA"]

# What an event can contain: see pflow_geo.simulation.particles.generate_truth.
PROCESSES = ("rho", "pion", "photon", "pi0", "electron", "jet")

# Largest |eta| of a primary particle, where the simulated EM end-cap layers EME1 and EME2 end.
MAX_ABS_ETA = 3.2


@dataclass(frozen=True)
class SimulationConfig:
    """Settings of one simulation run. Unknown keys and out-of-range values raise ValueError.

    Attributes:
        energy_min_gev, energy_max_gev: Range of the primary energy in GeV (the
            rho, the single particle or the jet), drawn uniformly in log E.
            Equal values give a fixed energy.
        eta_min, eta_max: Range of the primary pseudorapidity, drawn uniformly.
        phi_min, phi_max: Range of the primary azimuth in radians, drawn uniformly.
        min_track_pt_gev: Charged particles below this transverse momentum (GeV) get no track.
        track_efficiency: Probability that a charged particle above the pT cut
            and within |eta| < 2.5 is reconstructed as a track.
        unmatched_track_rate: Probability per event of one extra track with no
            truth match (trackTruthParticleIndex = -1) and no calorimeter deposit.
        noise_scale: Factor on the per-layer electronic noise, > 0.
        pileup_noise_scale: Topo-clustering thresholds are in units of
            ``sqrt(sigma_elec^2 + (pileup_noise_scale * sigma_pileup)^2)``, with the
            per-layer pile-up noise of Run-2-like conditions. ATLAS includes
            pile-up noise in the thresholds even for single-particle MC; 0 puts
            the thresholds at the electronic noise. The cells themselves only
            get electronic noise.
        seed_threshold, growth_threshold, perimeter_threshold: Topo-clustering
            thresholds on |E| / sigma (ATLAS: 4, 2, 0).
        split_clusters: Run the topo-cluster splitter (local maxima, shared border cells).
        cell_energy_threshold_gev: Clustered cells whose weighted energy is below
            this (GeV) are left out of ``cluster_cell_ID``/``cluster_cell_E`` but
            still counted in ``cluster_nCells`` (MLTree's 5 MeV cut).
        truth_contributors: Number of truth particles kept per cell, the largest
            contributions first.
        pad_truth_lists: Pre-size the per-cell truth lists of each cluster to
            ``cluster_nCells`` with trailing empty lists, as MLTree master does.
        min_cluster_energy_gev: Clusters with less energy (GeV) are not written
            (MLTree ClusterEmin = 0 drops negative-energy clusters).
        max_cluster_abs_eta: Clusters beyond this |eta| are not written (MLTree ClusterEtaAbsmax).
        chunk_size: Events generated and written together; memory grows linearly with it.
        run_number: Value of the ``runNumber`` branch.
    """

    energy_min_gev: float = 2.0
    energy_max_gev: float = 200.0
    eta_min: float = -2.5
    eta_max: float = 2.5
    phi_min: float = -math.pi
    phi_max: float = math.pi
    min_track_pt_gev: float = 0.5
    track_efficiency: float = 1.0
    unmatched_track_rate: float = 0.01
    noise_scale: float = 1.0
    pileup_noise_scale: float = 1.0
    seed_threshold: float = 4.0
    growth_threshold: float = 2.0
    perimeter_threshold: float = 0.0
    split_clusters: bool = True
    cell_energy_threshold_gev: float = 0.005
    truth_contributors: int = 3
    pad_truth_lists: bool = True
    min_cluster_energy_gev: float = 0.0
    max_cluster_abs_eta: float = 3.0
    chunk_size: int = 500
    run_number: int = 284500

    def __post_init__(self) -> None:
        checks = [
            (0 < self.energy_min_gev <= self.energy_max_gev, "energy range", "0 < energy_min_gev <= energy_max_gev"),
            (-MAX_ABS_ETA <= self.eta_min <= self.eta_max <= MAX_ABS_ETA, "eta range", f"-{MAX_ABS_ETA:g} <= eta_min <= eta_max <= {MAX_ABS_ETA:g}"),
            (-math.pi <= self.phi_min <= self.phi_max <= math.pi, "phi range", "-pi <= phi_min <= phi_max <= pi"),
            (self.min_track_pt_gev >= 0, "min_track_pt_gev", ">= 0"),
            (0 <= self.track_efficiency <= 1, "track_efficiency", "between 0 and 1"),
            (0 <= self.unmatched_track_rate <= 1, "unmatched_track_rate", "between 0 and 1"),
            (self.noise_scale > 0, "noise_scale", "> 0"),
            (self.pileup_noise_scale >= 0, "pileup_noise_scale", ">= 0"),
            (self.seed_threshold >= self.growth_threshold >= self.perimeter_threshold >= 0, "thresholds", "seed >= growth >= perimeter >= 0"),
            (self.cell_energy_threshold_gev >= 0, "cell_energy_threshold_gev", ">= 0"),
            (self.truth_contributors >= 1, "truth_contributors", ">= 1"),
            (self.max_cluster_abs_eta > 0, "max_cluster_abs_eta", "> 0"),
            (self.chunk_size >= 1, "chunk_size", ">= 1"),
        ]
        for valid, name, allowed in checks:
            if not valid:
                raise ValueError(f"invalid simulation setting {name}: {self._describe(name)}; expected {allowed}")

    def _describe(self, name: str) -> str:
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        matching = {key: value for key, value in fields.items() if key.startswith(name.split()[0])}
        return ", ".join(f"{key}={value!r}" for key, value in matching.items()) or repr(name)

    @classmethod
    def from_kwargs(cls, **settings: Any) -> SimulationConfig:
        """Build a config from keyword settings, raising ValueError that lists the valid names for an unknown one."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise ValueError(f"unknown simulation setting(s) {', '.join(unknown)}; valid settings: {', '.join(sorted(names))}")
        return cls(**settings)
