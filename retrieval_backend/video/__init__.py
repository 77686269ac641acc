"""Video I/O with PyAV: probing, frame sampling and rendering. Plain Python, no Django import."""

from __future__ import annotations

from retrieval_backend.video.errors import VideoError
from retrieval_backend.video.probe import VideoInfo, probe

__all__ = ["VideoError", "VideoInfo", "probe"]
