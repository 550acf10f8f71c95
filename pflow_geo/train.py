"""Entry point of ``python -m pflow_geo.train`` and ``pflow-geo train``: Lightning's CLI for pflow_geo.

Examples::

    python -m pflow_geo.train fit --config configs/pointnet.yaml
    python -m pflow_geo.train fit --config configs/pointnet.yaml --trainer.max_epochs 5 --model.optimizer.lr 0.003
    python -m pflow_geo.train fit --config configs/pointnet.yaml --ckpt_path runs/pointnet/version_0/checkpoints/last.ckpt
    python -m pflow_geo.train test --config configs/pointnet.yaml --ckpt_path runs/pointnet/version_0/checkpoints/last.ckpt

``python -m pflow_geo.train fit --help`` lists every option with its default.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

from .errors import UsageError


def main(argv: Sequence[str] | None = None, prog: str = "python -m pflow_geo.train") -> int:
    """Run Lightning's CLI on ``argv`` (``sys.argv[1:]`` when None) and return the exit status.

    A missing or unusable input file or checkpoint prints one ``error:``
    message and returns 1. An option value that the model or data module
    rejects returns 2 (see :func:`pflow_geo.cli.run_reporting_errors`).
    Lightning's parser itself exits with status 2 for an unknown option or a
    value of the wrong type.

    Args:
        argv: Arguments after the program name, starting with the subcommand.
        prog: Program name shown in the usage and help text.
    """
    from .cli import configure_logging, run_reporting_errors

    cli_class = _command_line_cli_class()
    # Lightning, imported by the call above, keeps its own handler when the
    # root logger has none at import time, so its messages are not printed twice.
    configure_logging()

    def run_training_cli() -> None:
        with warnings.catch_warnings():
            # `pflow-geo train` passes its own argv slice, which Lightning would
            # flag as ambiguous because sys.argv is not empty.
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
            cli_class(args=None if argv is None else list(argv), parser_kwargs={"prog": prog})

    return run_reporting_errors(run_training_cli)


def _command_line_cli_class() -> type:
    """Return a TrainingCLI that raises CheckpointError for an unusable ``--ckpt_path`` and UsageError for an invalid option value.

    The class is built here so that importing this module does not import Lightning.
    """
    from .training.checkpoints import TORCH_LOAD_ERRORS, check_checkpoint_file, unreadable_checkpoint_error
    from .training.cli import TrainingCLI

    class CommandLineTrainingCLI(TrainingCLI):
        def _parse_ckpt_path(self) -> None:
            # NOTE: overrides a private method of LightningCLI 2.6, which reads
            # the hyperparameters of --ckpt_path with torch.load before any hook runs.
            subcommand = self.config.get("subcommand")
            ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
            # Lightning resolves keywords such as "last" and "best", which are not paths.
            if ckpt_path and os.path.exists(ckpt_path):
                check_checkpoint_file(ckpt_path)
            try:
                super()._parse_ckpt_path()
            except TORCH_LOAD_ERRORS as error:
                raise unreadable_checkpoint_error(ckpt_path, error) from error

        def instantiate_classes(self) -> None:
            # The model, data module and callbacks raise ValueError for invalid option values.
            try:
                super().instantiate_classes()
            except ValueError as error:
                raise UsageError(str(error)) from error

    return CommandLineTrainingCLI


if __name__ == "__main__":
    sys.exit(main())
