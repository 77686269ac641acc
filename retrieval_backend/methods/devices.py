"""Where torch work runs: ``TORCH_DEVICE`` (auto, cpu, cuda), and bf16 autocast on CUDA."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch


def configured_device() -> str:
    """The TORCH_DEVICE setting, read from Django's settings when configured, else the environment."""
    try:
        from django.conf import settings

        if settings.configured:
            return settings.TORCH_DEVICE
    except ImportError:  # pragma: no cover - Django is always installed with coachbench
        pass
    return os.environ.get("TORCH_DEVICE", "auto").strip().lower() or "auto"


def torch_device(choice: str | None = None) -> torch.device:
    """``cuda`` when asked for or (auto) available, else ``cpu``; asking for a missing GPU is an error."""
    choice = choice or configured_device()
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                "TORCH_DEVICE=cuda but torch sees no CUDA device on this worker: "
                "install a CUDA build of torch, or set TORCH_DEVICE=auto or cpu."
            )
        return torch.device("cuda")
    if choice == "auto" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


@contextlib.contextmanager
def inference(device: torch.device) -> Iterator[None]:
    """``inference_mode``, plus bf16 autocast on CUDA (CPU stays in float32: bf16 there is slower on most CPUs)."""
    with torch.inference_mode():
        if device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                yield
        else:
            yield
