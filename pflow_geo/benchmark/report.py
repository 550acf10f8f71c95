"""Benchmark outputs: the markdown table, the JSON record and the plot of F1 against latency."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["COLUMNS", "format_markdown", "write_json", "plot_f1_vs_latency", "write_outputs", "padded_comparison"]

MARKDOWN_FILE = "benchmark.md"
JSON_FILE = "benchmark.json"
PLOT_FILE = "f1_vs_latency.png"

_MEMORY_HEADINGS = {
    "rss_peak_increase": "peak RSS increase",
    "rss_peak_increase_since_start": "peak RSS increase",
    "cuda_max_memory_allocated": "peak CUDA memory",
}
_MEMORY_NOTES = {
    "rss_peak_increase": (
        "Memory: peak resident set size of the row's process during the phase minus its size at the start "
        "(Linux VmHWM, reset through /proc/self/clear_refs), so the data and the weights loaded before are not counted."
    ),
    "rss_peak_increase_since_start": (
        "Memory: peak resident set size since the process started minus the size at the start of the phase; "
        "a phase whose peak is below an earlier one reads too low."
    ),
    "cuda_max_memory_allocated": (
        "Memory: torch.cuda.max_memory_allocated over the phase, including the weights "
        "(and, in training, the optimizer state) on the GPU."
    ),
}


def _number(digits: int) -> Callable[[Any], str]:
    def format_value(value: Any) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "n/a"
        return f"{value:.{digits}f}"

    return format_value


def _count(value: Any) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def _significant(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.3g}"


# (heading, how to read the value from a row, how to format it); "{memory}" is replaced by the memory heading.
COLUMNS: tuple[tuple[str, Callable[[dict], Any], Callable[[Any], str]], ...] = (
    ("params", lambda row: row.get("params"), _count),
    ("epochs", lambda row: row.get("epochs"), _number(1)),
    ("train time [s]", lambda row: row.get("fit_seconds"), _significant),
    ("throughput [clouds/s]", lambda row: row.get("throughput_clouds_per_s"), _significant),
    ("latency b1 [ms/cloud]", lambda row: (row.get("latency_ms") or {}).get("1"), _significant),
    ("latency b64 [ms/cloud]", lambda row: (row.get("latency_ms") or {}).get("64"), _significant),
    ("{memory} train [MiB]", lambda row: row.get("peak_train_mib"), _number(0)),
    ("{memory} inference b64 [MiB]", lambda row: row.get("peak_inference_mib"), _number(0)),
    ("F1(E)", lambda row: row.get("weighted_f1"), _number(3)),
    ("acc(E)", lambda row: row.get("weighted_accuracy"), _number(3)),
    ("prec(E)", lambda row: row.get("weighted_precision"), _number(3)),
    ("rec(E)", lambda row: row.get("weighted_recall"), _number(3)),
    ("AUC(E)", lambda row: row.get("weighted_roc_auc"), _number(3)),
)


def format_markdown(results: dict[str, Any], plot_file: str | None = PLOT_FILE) -> str:
    """Format the results of :func:`~pflow_geo.benchmark.runner.run_benchmark` as a markdown page.

    The page lists the command, data, budget and machine, then one table row
    per model. Failed rows read ``n/a`` and are listed below the table.
    Notes describe how each column is measured, and the variable-size
    against padded PointNet comparison and a link to ``plot_file`` follow.
    """
    settings, machine, dataset, rows = results["settings"], results["machine"], results["dataset"], results["rows"]
    memory = _MEMORY_HEADINGS.get(machine.get("memory_method"), "peak memory")
    lines = ["# Architecture benchmark", ""]
    if results.get("command"):
        lines += ["```bash", results["command"], "```", ""]
    lines += _describe_run(settings, machine, dataset)
    lines.append("")

    headings = ["model", *(heading.format(memory=memory) for heading, _, _ in COLUMNS)]
    lines.append("| " + " | ".join(headings) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * len(COLUMNS)) + "|")
    for row in rows:
        cells = [row["label"], *(formatter(read(row)) for _, read, formatter in COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [row for row in rows if row.get("error")]
    if failed:
        lines.append("")
        lines += [f"- {row['label']} failed: {row['error']}" for row in failed]

    lines += ["", *_notes(results)]
    comparison = padded_comparison(rows)
    if comparison is not None:
        lines += ["", *_format_comparison(comparison, dataset)]
    if plot_file:
        lines += ["", f"![Validation F1(E) against inference latency]({plot_file})"]
    return "\n".join(lines) + "\n"


def padded_comparison(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Compare the padded PointNet row with the variable-size one; None unless both succeeded.

    Returns:
        The two rows (``variable``, ``padded``), the F1(E) difference
        ``padded - variable``, and the ratios ``padded / variable`` of
        throughput, latencies and peak memories.
    """
    variable = next((row for row in rows if row.get("model") == "pointnet" and not row.get("padded")), None)
    padded = next((row for row in rows if row.get("model") == "pointnet" and row.get("padded")), None)
    if variable is None or padded is None or variable.get("error") or padded.get("error"):
        return None

    def ratio(read: Callable[[dict], Any]) -> float:
        numerator, denominator = read(padded), read(variable)
        return numerator / denominator if denominator else float("nan")

    return {
        "variable": variable,
        "padded": padded,
        "f1_difference": padded["weighted_f1"] - variable["weighted_f1"],
        "throughput_ratio": ratio(lambda row: row["throughput_clouds_per_s"]),
        "latency_b1_ratio": ratio(lambda row: row["latency_ms"]["1"]),
        "latency_b64_ratio": ratio(lambda row: row["latency_ms"]["64"]),
        "peak_train_ratio": ratio(lambda row: row["peak_train_mib"]),
        "peak_inference_ratio": ratio(lambda row: row["peak_inference_mib"]),
    }


def write_json(results: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write the results as JSON, with NaN and infinities written as null."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(_json_safe(results), handle, indent=2)
        handle.write("\n")


def plot_f1_vs_latency(results: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Plot each row's validation F1(E) against its latency per cloud at batch sizes 1 and 64.

    Filled markers are batch size 1, open markers batch size 64, joined by a
    line per row; the latency axis is logarithmic. The dashed line is the
    always-1 classifier on the same cells.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rows = [row for row in results["rows"] if not row.get("error")]
    figure, axes = plt.subplots(figsize=(7.0, 4.8))
    colours = plt.get_cmap("tab10")
    for index, row in enumerate(rows):
        colour = colours(index % 10)
        latency = [row["latency_ms"]["1"], row["latency_ms"]["64"]]
        f1 = [row["weighted_f1"]] * 2
        axes.plot(latency, f1, color=colour, linewidth=1.0, alpha=0.6)
        axes.scatter(latency[0], f1[0], color=colour, s=45, zorder=3, label=row["label"])
        axes.scatter(latency[1], f1[1], facecolors="white", edgecolors=colour, s=45, zorder=3)
    baseline = next((row["scores"].get("always_one_weighted_f1") for row in rows if "scores" in row), None)
    if baseline is not None and math.isfinite(baseline):
        axes.axhline(baseline, color="grey", linestyle="--", linewidth=1.0, label="always 1")
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_xlabel("inference latency per cloud [ms] (filled: batch 1, open: batch 64)")
    axes.set_ylabel("validation F1, energy-weighted")
    axes.set_title(_plot_title(results))
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", loc="best")
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_outputs(results: dict[str, Any], output_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``benchmark.md``, ``benchmark.json`` and ``f1_vs_latency.png`` into ``output_dir``; return their paths."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": output / MARKDOWN_FILE, "json": output / JSON_FILE, "plot": output / PLOT_FILE}
    write_json(results, paths["json"])
    plot_f1_vs_latency(results, paths["plot"])
    paths["markdown"].write_text(format_markdown(results, PLOT_FILE), encoding="utf-8")
    return paths


# ---------------------------------------------------------------------- text
def _describe_run(settings: dict[str, Any], machine: dict[str, Any], dataset: dict[str, Any]) -> list[str]:
    if settings.get("files_given"):
        source = "MLTree files " + ", ".join(os.path.basename(path) for path in settings["files"])
    else:
        source = f"simulated {settings['process']}, {settings['events']} events, seed {settings['seed']}"
    train, val = dataset.get("train", {}), dataset.get("val", {})
    device = machine["device"]
    if machine.get("gpu"):
        device += f" ({machine['gpu']}, {machine['gpu_memory_gib']:.0f} GiB)"
    load = machine.get("load_average_before")
    load_after = machine.get("load_average_after")
    return [
        f"- Data: {source}; {train.get('clouds', 'n/a')} training and {val.get('clouds', 'n/a')} validation clouds, "
        f"{_number(1)(train.get('mean_points'))} points per training cloud on average (at most {train.get('max_points', 'n/a')}).",
        f"- Budget: {_budget_text(settings['budget'])} per model, seed {settings['seed']}, every model from its configs/<model>.yaml.",
        f"- Machine: {machine['cpu']}, {machine['cpu_cores_usable']} usable cores, torch {machine['torch']} with "
        f"{machine['torch_threads']} intra-op thread(s), device {device}, Python {machine['python']}, "
        f"PyG {machine['torch_geometric']}, Lightning {machine['lightning']}.",
        f"- Load average (1, 5, 15 min) before: {load}, after: {load_after}.",
    ]


def _notes(results: dict[str, Any]) -> list[str]:
    settings, machine, rows = results["settings"], results["machine"], results["rows"]
    measured = [row for row in rows if "scores" in row]
    baseline = measured[0]["scores"].get("always_one_weighted_f1") if measured else None
    threshold = measured[0]["threshold"] if measured else "n/a"
    repeats, warmup = settings["latency_repeats"], settings["latency_warmup"]
    notes = [
        "Notes:",
        "",
        f"- (E): validation figures weighted by |cell energy|, cells only, threshold {threshold}, on the weights after the "
        "last training step (no checkpoint selection)."
        + (f" The always-1 classifier scores F1(E) = {baseline:.3f} on the same cells." if baseline is not None else ""),
        "- epochs: training clouds seen over training clouds; train time: the whole `Trainer.fit` call. Throughput "
        "counts training clouds per second of the training epochs, without the first epoch when more than one ran.",
        f"- Latency: median over {repeats} forward passes in eval mode after {warmup} warm-up passes, per cloud, "
        "validation clouds, batches built before the clock starts.",
        "- " + _MEMORY_NOTES.get(machine.get("memory_method"), "Memory: see benchmark.json."),
    ]
    if machine["device"] == "cpu":
        notes.append(
            "- CPU figures on a shared machine vary between runs; compare rows of one run rather than figures of different runs."
        )
    return notes


def _format_comparison(comparison: dict[str, Any], dataset: dict[str, Any]) -> list[str]:
    variable, padded = comparison["variable"], comparison["padded"]
    padded_info = dataset.get("padded", {})
    truncated = sum(
        (padded_info.get(f"{split}_truncation") or {}).get("clouds_truncated", 0) for split in ("train", "val")
    )
    return [
        f"## PointNet: variable-size against padded to {padded_info.get('max_points', 'n/a')} points",
        "",
        f"The padded row trains on the same clouds with {padded_info.get('batch_size', 'n/a')} clouds per batch, the "
        "average of the variable-size point-budget batches, so both take the same number of optimizer steps. "
        f"Padding truncated {truncated} training and validation clouds.",
        "",
        "| figure | variable | padded | padded / variable |",
        "|---|---:|---:|---:|",
        f"| F1(E) | {variable['weighted_f1']:.3f} | {padded['weighted_f1']:.3f} | difference {comparison['f1_difference']:+.3f} |",
        _comparison_line("throughput [clouds/s]", variable["throughput_clouds_per_s"], padded["throughput_clouds_per_s"], comparison["throughput_ratio"]),
        _comparison_line("latency b1 [ms/cloud]", variable["latency_ms"]["1"], padded["latency_ms"]["1"], comparison["latency_b1_ratio"]),
        _comparison_line("latency b64 [ms/cloud]", variable["latency_ms"]["64"], padded["latency_ms"]["64"], comparison["latency_b64_ratio"]),
        _comparison_line(
            "peak memory train [MiB]", variable["peak_train_mib"], padded["peak_train_mib"], comparison["peak_train_ratio"], _number(0)
        ),
        _comparison_line(
            "peak memory inference b64 [MiB]",
            variable["peak_inference_mib"],
            padded["peak_inference_mib"],
            comparison["peak_inference_ratio"],
            _number(0),
        ),
    ]


def _comparison_line(
    name: str, variable: float, padded: float, ratio: float, formatter: Callable[[Any], str] = _significant
) -> str:
    return f"| {name} | {formatter(variable)} | {formatter(padded)} | {_significant(ratio)} |"


def _plot_title(results: dict[str, Any]) -> str:
    settings = results["settings"]
    data = settings["process"] if not settings.get("files_given") else "input files"
    return f"{data}, {_budget_text(settings['budget'])} per model, {results['machine']['device']}"


def _budget_text(budget: dict[str, Any]) -> str:
    epochs = budget.get("epochs")
    if epochs is not None:
        return f"{epochs} epoch{'s' if epochs != 1 else ''}"
    return f"{budget['seconds']:g} s of training"


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
