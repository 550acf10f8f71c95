"""Compare the fast simulation with the ATLAS reference figures and write a report with plots.

Every figure is measured on files written by ``pflow_geo.simulation.simulate``
and read back with ``MLTreeReader``, so it covers the whole chain: showers,
noise, topo-clustering, the 5 MeV cell cut and the MLTree layout.

Usage:
    python benchmarks/simulation_validation.py --output validation/ [--events 400] [--workers 2]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np

from pflow_geo.geometry import Sampling
from pflow_geo.io.reader import MLTreeReader
from pflow_geo.simulation import simulate
import uproot

from pflow_geo.simulation.config import SimulationConfig
from pflow_geo.simulation.event import available_energy, event_rng, shower_particles
from pflow_geo.simulation.particles import generate_truth

CONE = 0.2
PION_ENERGIES = (2.0, 3.5, 10.0, 25.0, 40.0, 100.0)
# Inclusive ranges spanned by the ATLAS MC12 particle-flow E/p table
# (eflowCellEOverPTool_mc12_JetETMiss.cxx) over the layer of first interaction, |eta| < 1.5.
EOP_TARGETS = {
    2.0: ((0.35, 0.51), (0.20, 0.35)),
    3.5: ((0.35, 0.55), (0.20, 0.22)),
    10.0: ((0.55, 0.70), (0.15, 0.18)),
    25.0: ((0.60, 0.74), (0.11, 0.16)),
    40.0: ((0.63, 0.76), (0.10, 0.12)),
}
# Truth-level share of rho events with both photons within Delta R < 0.2 of
# the charged pion, at eta = 0 (Monte Carlo table in the physics notes).
RHO_BOTH_PHOTONS = {2.0: 0.0, 5.0: 0.005, 10.0: 0.44, 20.0: 0.90, 50.0: 0.985, 100.0: 0.996}
ATLAS_CLASS1_FRACTION = 0.578
EM_SAMPLINGS = np.array([s.value for s in (Sampling.PreSamplerB, Sampling.EMB1, Sampling.EMB2, Sampling.EMB3, Sampling.PreSamplerE, Sampling.EME1, Sampling.EME2, Sampling.EME3)])


def reference_direction(tracks: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return (eta, phi) of each track at EMB2, else EME2, else its first crossed layer (flat over tracks)."""
    layer_eta = ak.to_numpy(ak.flatten(tracks.layer_eta))
    layer_phi = ak.to_numpy(ak.flatten(tracks.layer_phi))
    eta = np.full(len(layer_eta), np.nan)
    phi = np.full(len(layer_eta), np.nan)
    for column in [Sampling.EMB2.value, Sampling.EME2.value, *range(layer_eta.shape[1])]:
        fill = np.isnan(eta) & ~np.isnan(layer_eta[:, column])
        eta[fill], phi[fill] = layer_eta[fill, column], layer_phi[fill, column]
    return eta, phi


def track_cones(chunk, focus_pdg: set[int] | None = None):
    """Yield (truth index, event row, cell mask within the cone, reference eta, reference phi) per truth-matched track."""
    tracks, cells, truth = chunk.tracks, chunk.cells, chunk.truth
    eta_ref, phi_ref = reference_direction(tracks)
    track_event = np.repeat(np.arange(len(tracks)), ak.to_numpy(ak.num(tracks)))
    truth_index = ak.to_numpy(ak.flatten(tracks.truth_index))
    for position in range(len(track_event)):
        event = track_event[position]
        if truth_index[position] < 0 or np.isnan(eta_ref[position]):
            continue
        if focus_pdg is not None and abs(int(truth.pdg_id[event][truth_index[position]])) not in focus_pdg:
            continue
        cell_eta = ak.to_numpy(cells.eta[event])
        cell_phi = ak.to_numpy(cells.phi[event])
        dphi = np.mod(cell_phi - phi_ref[position] + np.pi, 2 * np.pi) - np.pi
        inside = np.hypot(cell_eta - eta_ref[position], dphi) < CONE
        yield truth_index[position], event, inside, eta_ref[position], phi_ref[position]


def cluster_cone_energy(path: Path, entry: int, eta: float, phi: float) -> float:
    """Return the summed energy (GeV) of the clusters of one event whose barycentre is within the cone."""
    clusters = _cluster_cache(path)
    deta = ak.to_numpy(clusters.cluster_Eta[entry]) - eta
    dphi = np.mod(ak.to_numpy(clusters.cluster_Phi[entry]) - phi + np.pi, 2 * np.pi) - np.pi
    return float(ak.to_numpy(clusters.cluster_E[entry])[np.hypot(deta, dphi) < CONE].sum())


_CLUSTERS: dict[Path, ak.Array] = {}


def _cluster_cache(path: Path) -> ak.Array:
    if path not in _CLUSTERS:
        with uproot.open(path) as file:
            _CLUSTERS[path] = file["EventTree"].arrays(["cluster_E", "cluster_Eta", "cluster_Phi"])
    return _CLUSTERS[path]


def mip_like_fraction(energy: float, eta_range: tuple[float, float], events: int = 400) -> float:
    """Share of pions that deposit less than 0.8 GeV (truth) in the EM layers: no hard interaction before the Tile."""
    config = SimulationConfig(energy_min_gev=energy, energy_max_gev=energy, eta_min=eta_range[0], eta_max=eta_range[1])
    count = 0
    for index in range(events):
        rng = event_rng(7, index)
        truth = generate_truth(rng, "pion", config)
        deposits = shower_particles(rng, truth, available_energy(truth)).deposits()
        count += deposits.truth[np.isin(deposits.sampling, EM_SAMPLINGS)].sum() < 0.8
    return count / events


def pion_response(directory: Path, events: int, workers: int) -> dict:
    """E/p of single charged pions at fixed energies, |eta| < 1, from clusters and from cells in the cone."""
    results = {}
    for energy in PION_ENERGIES:
        path = directory / f"pion_{energy:g}.root"
        simulate("pion", events, 11, path, workers, energy_min_gev=energy, energy_max_gev=energy, eta_min=-1.0, eta_max=1.0, unmatched_track_rate=0.0)
        cluster_ratio, cell_ratio = [], []
        with MLTreeReader(path) as reader:
            for chunk in reader:
                for index, event, inside, eta, phi in track_cones(chunk):
                    momentum = float(np.sqrt(chunk.truth.e[event][index] ** 2 - chunk.truth.mass[event][index] ** 2))
                    cell_ratio.append(ak.to_numpy(chunk.cells.energy[event])[inside].sum() / momentum)
                    cluster_ratio.append(cluster_cone_energy(path, int(chunk.entry[event]), eta, phi) / momentum)
        _CLUSTERS.pop(path, None)
        path.unlink()
        cluster_ratio, cell_ratio = np.array(cluster_ratio), np.array(cell_ratio)
        results[energy] = {
            "mean": float(cluster_ratio.mean()), "std": float(cluster_ratio.std()), "count": len(cluster_ratio),
            "zero": float(np.mean(cluster_ratio <= 0.0)), "cell_mean": float(cell_ratio.mean()), "cell_std": float(cell_ratio.std()),
        }
    results["mip_like"] = {eta_range: mip_like_fraction(40.0, eta_range) for eta_range in ((0.0, 0.1), (-1.0, 1.0))}
    return results


def photon_showers(directory: Path, events: int, workers: int) -> dict:
    """Response, EMB2 lateral shape (R_eta = E 3x7 / E 7x7) and lateral containment of photons, |eta| < 1."""
    results = {}
    for energy in (10.0, 50.0):
        path = directory / f"photon_{energy:g}.root"
        simulate("photon", events, 12, path, workers, energy_min_gev=energy, energy_max_gev=energy, eta_min=-1.0, eta_max=1.0)
        response, r_eta = [], []
        with MLTreeReader(path) as reader:
            for chunk in reader:
                for event in range(len(chunk)):
                    cells = chunk.cells[event]
                    energy_cells = ak.to_numpy(cells.energy)
                    true_eta, true_phi = float(chunk.truth.eta[event][0]), float(chunk.truth.phi[event][0])
                    response.append(cluster_cone_energy(path, int(chunk.entry[event]), true_eta, true_phi) / energy)
                    emb2 = ak.to_numpy(cells.sampling) == Sampling.EMB2
                    if emb2.sum() < 3:
                        continue
                    eta, phi, e2 = ak.to_numpy(cells.eta)[emb2], ak.to_numpy(cells.phi)[emb2], energy_cells[emb2]
                    hottest = np.argmax(e2)
                    deta = np.abs(eta - eta[hottest])
                    dphi = np.abs(np.mod(phi - phi[hottest] + np.pi, 2 * np.pi) - np.pi)
                    pitch = 2 * np.pi / 256
                    in_7x7 = (deta < 3.5 * 0.025) & (dphi < 3.5 * pitch)
                    in_3x7 = (deta < 1.5 * 0.025) & (dphi < 3.5 * pitch)
                    r_eta.append(e2[in_3x7].sum() / e2[in_7x7].sum())
        _CLUSTERS.pop(path, None)
        path.unlink()
        results[energy] = {"response": float(np.mean(response)), "resolution": float(np.std(response)), "r_eta": float(np.median(r_eta))}

    # Lateral containment from the generated deposits (before cells and noise).
    config = SimulationConfig(energy_min_gev=50.0, energy_max_gev=50.0, eta_min=-0.5, eta_max=0.5)
    inside_1, inside_2 = [], []
    for index in range(200):
        rng = event_rng(99, index)
        truth = generate_truth(rng, "photon", config)
        deposits = shower_particles(rng, truth, available_energy(truth)).deposits()
        em = np.isin(deposits.sampling, EM_SAMPLINGS)
        eta, phi, weight = deposits.eta[em], deposits.phi[em], deposits.truth[em]
        if weight.sum() <= 0:
            continue
        centre_eta = np.average(eta, weights=weight)
        centre_phi = np.angle(np.average(np.exp(1j * phi), weights=weight))
        # Lateral distance in Moliere radii at the EMB2 depth (r = 1724 mm, R_M = 39 mm).
        distance = np.hypot(eta - centre_eta, np.mod(phi - centre_phi + np.pi, 2 * np.pi) - np.pi) * 1724.0 / 39.0
        inside_1.append(weight[distance < 1].sum() / weight.sum())
        inside_2.append(weight[distance < 2].sum() / weight.sum())
    results["containment_1rm"] = float(np.mean(inside_1))
    results["containment_2rm"] = float(np.mean(inside_2))
    return results


def rho_sample(directory: Path, events: int, workers: int) -> dict:
    """Truth-level photon overlap, cells per track and the class-1 fractions of rho events."""
    path = directory / "rho.root"
    simulate("rho", events, 13, path, workers)
    rho_energy, rho_eta, both_inside, clusters_per_event = [], [], [], []
    per_track = []  # (rho energy, class-1 energy, cone energy, class-1 cells, cone cells)
    with MLTreeReader(path) as reader:
        for chunk in reader:
            truth = chunk.truth
            clusters_per_event += ak.to_numpy(ak.num(_cluster_cache(path).cluster_E[chunk.entry])).tolist()
            for event in range(len(chunk)):
                pdg = ak.to_numpy(truth.pdg_id[event])
                pion = np.flatnonzero(np.abs(pdg) == 211)[0]
                photons = np.flatnonzero(pdg == 22)
                eta, phi = ak.to_numpy(truth.eta[event]), ak.to_numpy(truth.phi[event])
                distance = np.hypot(eta[photons] - eta[pion], np.mod(phi[photons] - phi[pion] + np.pi, 2 * np.pi) - np.pi)
                rho_energy.append(float(truth.e[event][0]))
                rho_eta.append(float(eta[0]))
                both_inside.append(bool(np.all(distance < CONE)))
            for index, event, inside, _, _ in track_cones(chunk, {211}):
                cells = chunk.cells[event]
                energy = ak.to_numpy(cells.energy)[inside]
                truth_energy = cells.truth_energy[inside]
                focus = ak.to_numpy(ak.sum(ak.where(cells.truth_index[inside] == index, truth_energy, 0.0), axis=1))
                all_truth = ak.to_numpy(ak.sum(truth_energy, axis=1))
                label = (all_truth > 0) & (focus > 0.5 * all_truth)
                per_track.append((float(truth.e[event][0]), energy[label].sum(), energy.sum(), label.sum(), len(label)))
    _CLUSTERS.pop(path, None)
    path.unlink()

    rho_energy, rho_eta, both_inside, per_track = np.array(rho_energy), np.abs(np.array(rho_eta)), np.array(both_inside), np.array(per_track)
    overlap = {}
    for low, high in ((2, 4), (4, 7), (7, 14), (14, 28), (28, 70), (70, 200)):
        in_bin = (rho_energy >= low) & (rho_energy < high)
        central = in_bin & (rho_eta < 0.3)
        overlap[(low, high)] = (float(both_inside[central].mean()) if central.any() else float("nan"), int(central.sum()), float(both_inside[in_bin].mean()))
    with_energy = per_track[:, 2] > 0
    return {
        "overlap": overlap,
        "cells_per_track": per_track[:, 4],
        "clusters_per_event": float(np.mean(clusters_per_event)),
        "class_1_aggregate": float(per_track[:, 1].sum() / per_track[:, 2].sum()),
        "class_1_per_track": float(np.mean(per_track[with_energy, 1] / per_track[with_energy, 2])),
        "class_1_cell_count": float(per_track[:, 3].sum() / per_track[:, 4].sum()),
        "per_track_fraction": per_track[with_energy, 1] / per_track[with_energy, 2],
        "track_rho_energy": per_track[with_energy, 0],
    }


def write_plots(directory: Path, pions: dict, rho: dict) -> list[str]:
    """Write the PNG plots and return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    figure, axis = plt.subplots(figsize=(6, 4))
    energies = np.array(PION_ENERGIES)
    axis.errorbar(energies, [pions[e]["mean"] for e in energies], yerr=[pions[e]["std"] for e in energies], fmt="o", label="simulation: mean, error bar = spread")
    for energy, ((low, high), _) in EOP_TARGETS.items():
        axis.fill_between([energy * 0.9, energy * 1.1], low, high, color="tab:orange", alpha=0.4)
    axis.plot([], [], color="tab:orange", alpha=0.4, linewidth=8, label="ATLAS MC12 mean range")
    axis.set(xscale="log", xlabel="pion energy [GeV]", ylabel="E/p (clusters within 0.2 of the track)", ylim=(0, 1.2))
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(directory / "pion_eop.png", dpi=120)
    names.append("pion_eop.png")

    figure, axis = plt.subplots(figsize=(6, 4))
    centres = [np.sqrt(low * high) for low, high in rho["overlap"]]
    axis.plot(centres, [value[0] for value in rho["overlap"].values()], "o-", label="simulation, |eta| < 0.3 (truth level)")
    axis.plot(centres, [value[2] for value in rho["overlap"].values()], "^:", label="simulation, all eta")
    axis.plot(list(RHO_BOTH_PHOTONS), list(RHO_BOTH_PHOTONS.values()), "s--", label="reference table (eta = 0)")
    axis.set(xscale="log", xlabel="rho energy [GeV]", ylabel="both photons within 0.2 of the pi+-")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(directory / "rho_photon_overlap.png", dpi=120)
    names.append("rho_photon_overlap.png")

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].hist(rho["cells_per_track"], bins=40)
    axes[0].set(xlabel="clustered cells within 0.2 of the track", ylabel="tracks")
    bins = np.geomspace(2, 200, 9)
    which = np.digitize(rho["track_rho_energy"], bins) - 1
    fraction = [rho["per_track_fraction"][which == i].mean() if np.any(which == i) else np.nan for i in range(len(bins) - 1)]
    axes[1].plot(np.sqrt(bins[1:] * bins[:-1]), fraction, "o-", label="simulation, per track")
    axes[1].axhline(ATLAS_CLASS1_FRACTION, color="tab:orange", label="ATLAS rho sample")
    axes[1].set(xscale="log", xlabel="rho energy [GeV]", ylabel="energy-weighted class-1 fraction", ylim=(0, 1))
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(directory / "rho_cells.png", dpi=120)
    names.append("rho_cells.png")
    plt.close("all")
    return names


def write_report(directory: Path, pions: dict, photons: dict, rho: dict, plots: list[str], command: str, seconds: float) -> Path:
    """Write report.md with the tables and plots and return its path."""
    lines = ["# Fast simulation validation", "", f"Command: `{command}` ({seconds:.0f} s).", ""]
    lines += [
        "## Charged-pion E/p (|eta| < 1)", "",
        "E/p from the clusters whose barycentre is within 0.2 of the track at EMB2 (as the ATLAS particle-flow "
        "tables), and from the clustered cells within 0.2 (what the point clouds see; cells below 5 MeV, so all "
        "negative cells, are not stored, which biases this sum upwards).", "",
        "| E [GeV] | tracks | E/p mean | E/p spread | ATLAS mean range | ATLAS spread range | no cluster energy | cell-cone E/p mean | cell-cone spread |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for energy in PION_ENERGIES:
        result = pions[energy]
        target = EOP_TARGETS.get(energy)
        mean_range = f"{target[0][0]:.2f}-{target[0][1]:.2f}" if target else "-"
        spread_range = f"{target[1][0]:.2f}-{target[1][1]:.2f}" if target else "-"
        lines.append(
            f"| {energy:g} | {result['count']} | {result['mean']:.3f} | {result['std']:.3f} | {mean_range} | {spread_range} | "
            f"{result['zero']:.3f} | {result['cell_mean']:.3f} | {result['cell_std']:.3f} |"
        )

    mip = pions["mip_like"]
    lines += ["", f"40 GeV pions with less than 0.8 GeV deposited in the EM layers (no hard interaction before the Tile): "
              f"{mip[(0.0, 0.1)]:.3f} at |eta| < 0.1, {mip[(-1.0, 1.0)]:.3f} over |eta| < 1 (reference: about 0.3 at eta = 0).", ""]

    lines += ["## Photons (|eta| < 1)", "", "| E [GeV] | cluster energy within 0.2 / E | spread | median R_eta (EMB2 3x7 / 7x7) |", "|---|---|---|---|"]
    for energy in (10.0, 50.0):
        result = photons[energy]
        lines.append(f"| {energy:g} | {result['response']:.3f} | {result['resolution']:.3f} | {result['r_eta']:.3f} |")
    lines += ["", f"Lateral containment of 50 GeV photon deposits in the EM layers: {photons['containment_1rm']:.3f} within 1 R_M, "
              f"{photons['containment_2rm']:.3f} within 2 R_M (reference: 0.90 and 0.95).", ""]

    lines += ["## rho -> pi+- pi0", "", "Share of events with both photons within 0.2 of the charged pion (truth directions):", "",
              "| rho energy [GeV] | events with \\|eta\\| < 0.3 | share, \\|eta\\| < 0.3 | share, all eta |", "|---|---|---|---|"]
    for (low, high), (central, count, everything) in rho["overlap"].items():
        lines.append(f"| {low}-{high} | {count} | {central:.3f} | {everything:.3f} |")

    cells = rho["cells_per_track"]
    lines += [
        "", f"Topo-clusters per event: {rho['clusters_per_event']:.2f}.",
        f"Clustered cells within 0.2 of the pi+- track: mean {cells.mean():.1f}, median {np.median(cells):.0f}, 90th percentile {np.percentile(cells, 90):.0f}.",
        "", "Cells within 0.2 of the pi+- track whose truth energy is more than half from the pi+- (class 1):", "",
        f"* energy-weighted over all cells of the sample: **{rho['class_1_aggregate']:.3f}**",
        f"* energy-weighted per track, averaged over tracks: **{rho['class_1_per_track']:.3f}**",
        f"* by cell count: {rho['class_1_cell_count']:.3f}",
        "", f"ATLAS rho sample, energy-weighted: {ATLAS_CLASS1_FRACTION}.", "",
    ]
    lines += [f"![{name}]({name})" for name in plots]

    path = directory / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, type=Path, help="directory for report.md and the PNG plots")
    parser.add_argument("--events", type=int, default=400, help="events per sample (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per simulation (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.output.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    pions = pion_response(args.output, args.events, args.workers)
    photons = photon_showers(args.output, args.events, args.workers)
    rho = rho_sample(args.output, 4 * args.events, args.workers)
    plots = write_plots(args.output, pions, rho)
    command = "python benchmarks/simulation_validation.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report = write_report(args.output, pions, photons, rho, plots, command, time.perf_counter() - started)
    print(report.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
