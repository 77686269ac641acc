"""Damaged and unusual video files for the video tests, each made the way it happens in the field."""

from __future__ import annotations

import random
from pathlib import Path

import av
import numpy as np

from retrieval_backend.video.mp4_boxes import read_box_layout


def cut_in_half(src: Path, dst: Path) -> Path:
    """The first half of ``src``'s bytes: an interrupted download or copy."""
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def without_index(src: Path, dst: Path) -> Path:
    """An MP4 written without ``moov`` (index at the end): a recording stopped by a crash."""
    layout = read_box_layout(src)
    assert layout is not None
    assert not layout.is_faststart, "needs an MP4 with its index at the end"
    moov = next(box for box in layout.boxes if box.type == "moov")
    dst.write_bytes(src.read_bytes()[: moov.offset])
    return dst


def with_zeroed_tail(src: Path, dst: Path) -> Path:
    """Intact boxes, but the second half of the media data overwritten: a damaged disk."""
    layout = read_box_layout(src)
    mdat = next(box for box in layout.boxes if box.type == "mdat")
    data = bytearray(src.read_bytes())
    middle = mdat.offset + mdat.size // 2
    data[middle : mdat.end] = bytes(mdat.end - middle)
    dst.write_bytes(bytes(data))
    return dst


def random_bytes(dst: Path, size: int = 64_000, *, seed: int = 0) -> Path:
    """``size`` bytes of noise, the same for the same seed: what FFmpeg makes of noise varies with the bytes."""
    dst.write_bytes(random.Random(seed).randbytes(size))
    return dst


def write_matroska(dst: Path, *, seconds: float = 4.0, fps: int = 25, width: int = 160, height: int = 120) -> Path:
    """A Matroska file: its header states the duration, and no box sizes betray a cut."""
    with av.open(str(dst), "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(fps), "preset": "veryfast"}
        for index in range(round(seconds * fps)):
            image = np.full((height, width, 3), (index * 7) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return dst


def write_odd_sized(dst: Path, *, width: int = 161, height: int = 121, seconds: float = 2.0, fps: int = 25) -> Path:
    """H.264 4:4:4 with odd sides, which a yuv420p encoder refuses as is."""
    with av.open(str(dst), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        for index in range(round(seconds * fps)):
            image = np.full((height, width, 3), (index * 5) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return dst


def write_phone_portrait(dst: Path, *, seconds: float = 2.0, fps: int = 25) -> Path:
    """Portrait video the way phones store it: 160x96 landscape frames plus a 90-degree rotation.

    A white block marks the stored frame's top-left corner; shown upright (turned a
    quarter counter-clockwise) it sits at the bottom-left of a 96x160 picture.
    """
    with av.open(str(dst), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.set_display_rotation(90)
        image = np.zeros((96, 160, 3), dtype=np.uint8)
        image[:24, :32] = 255
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return dst
