"""Architecture benchmark: every registered model trained on the same data under the same budget, then measured.

:func:`pflow_geo.benchmark.runner.run_benchmark` trains and measures the
rows, and :func:`pflow_geo.benchmark.report.write_outputs` writes
``benchmark.md``, ``benchmark.json`` and ``f1_vs_latency.png``;
``pflow-geo benchmark`` runs both. This package module imports neither, so
that the command's ``--help`` does not load torch and Lightning.
"""

# Simulated processes the benchmark can generate; both give charged tracks with clouds.
PROCESSES = ("rho", "jet")
