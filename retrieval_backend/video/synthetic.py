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


FRAME_CODE_BITS = 10


def frame_code(width: int, height: int) -> DrawFn:
    """Frames that show their own index in binary, one stripe per bit (white is 1).

    Broad stripes survive H.264 compression and scaling, so a test can read back
    which source frame a sampler or a renderer delivered.
    """
    stripe = width // FRAME_CODE_BITS

    def draw(index: int, t: float) -> np.ndarray:
        image = np.zeros((height, width, 3), dtype=np.uint8)
        for bit in range(FRAME_CODE_BITS):
            if index >> bit & 1:
                image[:, bit * stripe : (bit + 1) * stripe] = 255
        return image

    return draw


def read_frame_code(image: np.ndarray) -> int:
    """The index drawn by ``frame_code`` into an RGB image of any size."""
    stripe = image.shape[1] / FRAME_CODE_BITS
    centres = [int((bit + 0.5) * stripe) for bit in range(FRAME_CODE_BITS)]
    bright = image[:, centres].mean(axis=(0, 2)) > 128
    return int(sum(1 << bit for bit, on in enumerate(bright) if on))


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
    keyframe_interval_s: float = 1.0,
) -> Path:
    """Encode an H.264 (yuv420p) MP4, with a sine-tone AAC track when ``audio`` is true.

    ``keyframe_interval_s`` is the longest gap between keyframes; camera footage
    has them 2 to 10 seconds apart, which is what makes seeking cost something.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draw = draw or moving_bar(width, height)
    n_frames = round(seconds * fps)
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        # One encoder thread: x264's sliced threads gave different bytes under CPU load, and the demo's
        # importers recognise a video by its checksum, so a re-render must give the same file.
        video.codec_context.thread_count = 1
        video.options = {"preset": "veryfast", "g": str(max(1, round(keyframe_interval_s * fps)))}
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
