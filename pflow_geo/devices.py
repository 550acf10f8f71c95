"""The torch device named by the user: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICE_NAME", "resolve_device"]

# Device names that the commands and the evaluation accept.
DEVICE_NAME = re.compile(r"auto|cpu|cuda(:\d+)?")


def resolve_device(name: str) -> torch.device:
    """Return the torch device for ``name``.

    ``auto`` gives the current CUDA device when one is visible, else the CPU.

    Raises:
        UsageError: A ValueError, if ``name`` is not auto, cpu, cuda or cuda:N,
            or names a CUDA device that this machine lacks.
    """
    import torch

    if DEVICE_NAME.fullmatch(name) is None:
        raise UsageError(f"invalid device name {name!r}; expected auto, cpu, cuda or cuda:N")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available on this machine; use --device cpu or auto")
    if (device.index or 0) >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0")
    return device
