"""A training-free appearance-and-motion descriptor of a clip, in torch: the weak visual baseline.

Four blocks, each L2-normalised so that none dominates, then the whole:
where colours sit in the frame (time-averaged 6x8 layout, centred), which
colours there are (16-bin histogram per channel, square-rooted: the Hellinger
kernel becomes an inner product), where things move (frame-difference energy
on a 6x8 grid) and when (the motion profile over time, 16 bins). It knows
nothing about technique; it exists so that the pipeline runs end to end without
a trained model, and as a floor a real model must beat.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DESCRIPTOR_DIM = 144 + 48 + 48 + 16
_GRID = (6, 8)
_BINS = 16
_PROFILE = 16


def appearance_motion_descriptor(frames: torch.Tensor) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 frames -> (B, 256) float32 unit vectors.

    Meant for small frames (the backend samples them at 32x24, letting FFmpeg's
    scaler do the averaging): the histogram is one ``bincount`` over the uint8
    pixels, and everything else works on the small frames directly.
    """
    batch, steps = frames.shape[:2]
    device = frames.device

    # Colour histogram: the top 4 bits of each channel, all clips counted in one pass.
    offsets = torch.arange(batch, device=device).view(batch, 1, 1, 1, 1) * (3 * _BINS)
    offsets = offsets + torch.arange(3, device=device).view(1, 1, 1, 1, 3) * _BINS
    codes = (frames >> 4).long() + offsets
    histogram = torch.bincount(codes.flatten(), minlength=batch * 3 * _BINS).view(batch, 3 * _BINS).float()
    histogram = (histogram / max(1, frames[0].numel() // 3)).sqrt()

    x = frames.permute(0, 1, 4, 2, 3).float().div_(255.0)  # B, T, 3, H, W
    layout = F.adaptive_avg_pool2d(x.mean(1), _GRID).flatten(1)
    layout = layout - layout.mean(1, keepdim=True)

    if steps > 1:
        difference = (x[:, 1:] - x[:, :-1]).abs().mean(2)  # B, T-1, H, W
        where = F.adaptive_avg_pool2d(difference.mean(1, keepdim=True), _GRID).flatten(1)
        when = F.interpolate(difference.mean((2, 3)).unsqueeze(1), size=_PROFILE, mode="linear").squeeze(1)
    else:
        where = torch.zeros(batch, _GRID[0] * _GRID[1], device=device)
        when = torch.zeros(batch, _PROFILE, device=device)

    blocks = [F.normalize(block, dim=1) for block in (layout, histogram, where, when)]
    return F.normalize(torch.cat(blocks, dim=1), dim=1)
