"""Physics evaluation: baselines, the per-cell prediction table and the report built from it."""
