"""Sample N frames of a segment as RGB arrays, the input of every visual embedding.

One seek to the keyframe before the segment, then decoding forward: each target
time keeps the decoded frame nearest to it. Seeking again for every target
would decode the frames between the keyframe and the target over and over; on
footage with keyframes two seconds apart that is 2 to 4 times slower than
decoding the segment once (``make bench`` prints both).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from retrieval_backend.video.segment import SegmentStats, open_video, segment_frames


def sample_times(start_s: float, end_s: float, n: int) -> np.ndarray:
    """The n target times: the centres of n equal slices of the segment.

    Centres rather than slice starts, so the first and last samples sit inside
    the demonstration, not on its cut where the previous shot may still show.
    """
    step = (end_s - start_s) / n
    return start_s + step * (np.arange(n) + 0.5)


def sample_frames(
    uri: str | Path, start_s: float, end_s: float, n: int, *, size: tuple[int, int] | None = None
) -> np.ndarray:
    """Return an ``(n, height, width, 3)`` uint8 RGB array of frames evenly spread over the segment.

    ``size`` is ``(width, height)`` to resize to (by FFmpeg's scaler, as the
    embedding model wants), or ``None`` to keep the source's size. Raises
    ``VideoError`` for a segment the video can't supply and ``TruncatedVideo``
    when its frames stop early or have gaps.
    """
    frames, _ = sample_frames_with_stats(uri, start_s, end_s, n, size=size)
    return frames


def sample_frames_with_stats(
    uri: str | Path, start_s: float, end_s: float, n: int, *, size: tuple[int, int] | None = None
) -> tuple[np.ndarray, SegmentStats]:
    """``sample_frames`` plus what it cost: seeks made, frames decoded, frames in the segment."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of frames to sample must be a positive integer, got {n!r}")
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ValueError(f"size must be (width, height) in pixels, got {size!r}")
    with open_video(uri) as source:
        offset = source.start_offset_s
        targets = offset + sample_times(start_s, end_s, n)
        # One scaler for all frames: building FFmpeg's scaler context per frame costs more than scaling.
        reformatter = VideoReformatter()
        out: np.ndarray | None = None
        converted: tuple[av.VideoFrame, np.ndarray] | None = None

        def to_rgb(frame: av.VideoFrame) -> np.ndarray:
            nonlocal converted
            # Targets closer together than a frame pick the same frame: convert it once.
            if converted is None or converted[0] is not frame:
                converted = (frame, _upright_rgb(reformatter, frame, size))
            return converted[1]

        def keep(index: int, frame: av.VideoFrame) -> None:
            nonlocal out
            image = to_rgb(frame)
            if out is None:
                out = np.empty((n, *image.shape), dtype=np.uint8)
            out[index] = image

        previous: av.VideoFrame | None = None
        j = 0
        for frame in segment_frames(source, start_s, end_s):
            t = frame.time
            # Frames arrive in presentation order: a target at or before this frame
            # is nearest either to it or to the one before.
            while j < n and targets[j] <= t:
                closer_before = previous is not None and targets[j] - previous.time < t - targets[j]
                keep(j, previous if closer_before else frame)
                j += 1
            previous = frame
        # segment_frames has raised if the segment held no frame, so previous is set.
        while j < n:
            keep(j, previous)
            j += 1
        return out, source.stats


def _upright_rgb(reformatter: VideoReformatter, frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
    """The frame as RGB, turned the way it is shown: phones store portrait video as landscape plus a rotation."""
    quarter_turns = round(frame.rotation / 90) % 4 if frame.rotation else 0
    if size is None:
        image = reformatter.reformat(frame, format="rgb24").to_ndarray()
    else:
        # Scale to the size the frame will have once turned.
        width, height = size if quarter_turns % 2 == 0 else (size[1], size[0])
        image = reformatter.reformat(frame, format="rgb24", width=width, height=height).to_ndarray()
    # frame.rotation is counter-clockwise, as is np.rot90.
    return np.rot90(image, quarter_turns) if quarter_turns else image


def decode_segment(uri: str | Path, start_s: float, end_s: float) -> int:
    """Decode the segment's frames and return how many there are: sampling's cost floor.

    The same seek and truncation checks as ``sample_frames``, without converting
    any frame; the benchmark compares the two.
    """
    with open_video(uri) as source:
        count = 0
        for _ in segment_frames(source, start_s, end_s):
            count += 1
        return count


__all__ = ["decode_segment", "sample_frames", "sample_frames_with_stats", "sample_times"]
