"""Write small synthetic videos with PyAV: for tests, benchmarks and the demo gallery.

Nothing here downloads anything; every pixel is drawn by a function you pass in.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# draw(frame_index, time_s) -> an (height, width, 3) uint8 RGB image
DrawFn = Callable[[int, float], np.ndarray]


def moving_bar(width: int, height: int) -> DrawFn:
    """A white bar sweeping across a dark background: motion that every frame shows."""

    def draw(index: int, t: float) -> np.ndarray:
        image = np.full((height, width, 3), 24, dtype=np.uint8)
        x = int((t * width / 2) % max(1, width - 8))
        image[:, x : x + 8] = 255
        image[: height // 8, : (index % width)] = (200, 60, 60)
        return image

    return draw


def write_synthetic_video(
    path: str | Path,
    *,
    seconds: float = 3.0,
    fps: int = 25,
    width: int = 160,
    height: int = 120,
    audio: bool = False,
    draw: DrawFn | None = None,
    faststart: bool = True,
) -> Path:
    """Encode an H.264 (yuv420p) MP4, with a sine-tone AAC track when ``audio`` is true."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draw = draw or moving_bar(width, height)
    n_frames = round(seconds * fps)
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast", "g": str(fps)}
        sound = container.add_stream("aac", rate=44100) if audio else None
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(draw(index, index / fps), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            _write_tone(container, sound, seconds)
    return path


def _write_tone(container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float) -> None:
    rate = stream.rate
    samples_per_frame = 1024
    total = int(seconds * rate)
    for offset in range(0, total, samples_per_frame):
        n = min(samples_per_frame, total - offset)
        t = (np.arange(offset, offset + n) / rate).astype(np.float32)
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = offset
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
