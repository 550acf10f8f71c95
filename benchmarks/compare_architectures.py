"""Compare the registered architectures: the same as ``pflow-geo benchmark`` with the same options.

Usage:
    python benchmarks/compare_architectures.py --process rho --events 2000 --epochs 3 --output runs/benchmark/rho
    python benchmarks/compare_architectures.py --help
"""

from __future__ import annotations

import sys

from pflow_geo.cli import main

if __name__ == "__main__":
    # Inserted into sys.argv as well, so that the recorded command line reads `pflow-geo benchmark ...`.
    sys.argv[1:1] = ["benchmark"]
    sys.exit(main(sys.argv[1:]))
