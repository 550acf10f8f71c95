"""Entry point of ``python -m pflow_geo.train`` and ``pflow-geo train``: Lightning's CLI for pflow_geo.

Examples::

    python -m pflow_geo.train fit --config configs/pointnet.yaml
    python -m pflow_geo.train fit --config configs/pointnet.yaml --trainer.max_epochs 5 --model.optimizer.lr 0.003
    python -m pflow_geo.train fit --config configs/pointnet.yaml --ckpt_path runs/pointnet/version_0/checkpoints/last.ckpt
    python -m pflow_geo.train test --config configs/pointnet.yaml --ckpt_path runs/pointnet/version_0/checkpoints/last.ckpt

``python -m pflow_geo.train fit --help`` lists every option with its default.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None, prog: str = "python -m pflow_geo.train") -> int:
    """Run Lightning's CLI on ``argv`` (``sys.argv[1:]`` when None) and return the exit status.

    Args:
        argv: Arguments after the program name, starting with the subcommand.
        prog: Program name shown in the usage and help text.
    """
    from .cli import configure_logging
    from .training.cli import TrainingCLI

    # Lightning, imported above, keeps its own handler when the root logger
    # has none at import time, so its messages are not printed twice.
    configure_logging()
    with warnings.catch_warnings():
        # `pflow-geo train` passes its own argv slice, which Lightning would
        # flag as ambiguous because sys.argv is not empty.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        TrainingCLI(args=None if argv is None else list(argv), parser_kwargs={"prog": prog})
    return 0


if __name__ == "__main__":
    sys.exit(main())
