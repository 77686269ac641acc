"""A tiny video encoder, standing in for a research team's model in the visual backend tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TinyVideoEncoder(nn.Module):
    """(B, T, 3, H, W) frames -> (B, dim): a 4x4 colour layout and frame-difference energy, then a linear map."""

    def __init__(self, dim: int = 24) -> None:
        super().__init__()
        self.project = nn.Linear(48 + 1, dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        layout = F.adaptive_avg_pool2d(frames.mean(1), (4, 4)).flatten(1)
        motion = (frames[:, 1:] - frames[:, :-1]).abs().mean(dim=(1, 2, 3, 4)).unsqueeze(1)
        return self.project(torch.cat([layout, motion], dim=1))


def write_torchscript(path, dim: int = 24) -> None:
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(TinyVideoEncoder(dim)), str(path))


def write_state_dict(path, dim: int = 24) -> None:
    torch.manual_seed(0)
    torch.save(TinyVideoEncoder(dim).state_dict(), str(path))


def write_exported(path, dim: int = 24, *, dynamic_batch: bool = True, frames: int = 4, size: int = 32) -> None:
    """The same encoder as a torch.export program (.pt2), as a team on current torch would ship it."""
    torch.manual_seed(0)
    model = TinyVideoEncoder(dim).eval()
    example = (torch.zeros(2, frames, 3, size, size),)
    shapes = {"frames": {0: torch.export.Dim("batch", min=1, max=4096)}} if dynamic_batch else None
    torch.export.save(torch.export.export(model, example, dynamic_shapes=shapes), str(path))
