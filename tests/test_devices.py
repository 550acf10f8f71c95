"""Device names: parsing, the choice of auto, and CUDA devices this machine lacks."""

from __future__ import annotations

import pytest
import torch

from pflow_geo.devices import resolve_device
from pflow_geo.errors import UsageError

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")


def test_cpu_name_gives_cpu() -> None:
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_follows_cuda_availability() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.parametrize("name", ["gpu", "cuda:", "CPU", "cuda:x", "mps"])
def test_unknown_name_raises(name: str) -> None:
    with pytest.raises(UsageError, match=r"expected auto, cpu, cuda or cuda:N"):
        resolve_device(name)


@no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_without_gpu_raises(name: str) -> None:
    with pytest.raises(UsageError) as raised:
        resolve_device(name)
    assert str(raised.value) == f"--device {name}: CUDA is not available on this machine; use --device cpu or auto"


def test_usage_error_is_value_error() -> None:
    # Library callers that catch ValueError for a bad device still catch it.
    with pytest.raises(ValueError):
        resolve_device("gpu")
