"""Files that are not videos, or are videos crafted to cost far more to decode than their size suggests.

Each is written with PyAV from packets it encodes once and then repeats or relabels, so a file
that would take minutes to decode takes a fraction of a second to write.
"""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def _encode(codec: str, width: int, height: int, frames: int, options: dict[str, str] | None = None) -> list[bytes]:
    """The packets of ``frames`` identical grey frames; the first is a keyframe."""
    encoder = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base, encoder.framerate = Fraction(1, 25), Fraction(25)
    encoder.options = options or {}
    image = np.full((height, width, 3), 90, dtype=np.uint8)
    packets = []
    for index in range(frames):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = index
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    extradata = encoder.extradata
    return [bytes(packet) for packet in packets], extradata


def _mux(path: Path, fmt: str, codec: str, width: int, height: int, payloads: list[tuple[int, bytes, bool]], **kw):
    """Write (pts, bytes, keyframe) packets as a stream at 25 fps (or ``rate``)."""
    rate = kw.get("rate", 25)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, kw.get("pix_fmt", "yuv420p")
        if kw.get("extradata"):
            stream.codec_context.extradata = kw["extradata"]
        stream.time_base = Fraction(1, rate)
        for pts, data, key in payloads:
            packet = av.Packet(data)
            packet.pts = packet.dts = pts
            packet.duration = 1
            packet.time_base = Fraction(1, rate)
            packet.stream = stream
            packet.is_keyframe = key
            out.mux(packet)
    return path


def one_keyframe_then_repeats(path: Path, *, codec: str = "libx264", seconds: float, width=1920, height=1080) -> Path:
    """A full-HD stream of one keyframe and then the same "nothing changed" frame over and over.

    Ten minutes of it is a few hundred kilobytes, yet every frame after the keyframe must be
    decoded to reach the end: minutes of decoding. (H.264 with a single keyframe; VP8 frames
    carry no counters, so repeating one is a valid stream.)
    """
    options = {"preset": "ultrafast", "bframes": "0", "g": "1000"} if codec == "libx264" else {}
    packets, extradata = _encode(codec, width, height, 3, options)
    key, repeat = packets[0], packets[-1]
    frames = round(seconds * 25)
    payloads = [(0, key, True)] + [(pts, repeat, False) for pts in range(1, frames)]
    name = "h264" if codec == "libx264" else codec
    fmt = "mp4" if codec == "libx264" else "webm"
    return _mux(path, fmt, name, width, height, payloads, extradata=extradata)


def wide_video(path: Path, *, width: int, height: int = 16) -> Path:
    """A real H.264 stream wider than any camera films: cheap to make, refused for its size."""
    packets, extradata = _encode("libx264", width, height, 25, {"preset": "ultrafast", "g": "25"})
    payloads = [(pts, data, pts == 0) for pts, data in enumerate(packets)]
    return _mux(path, "mp4", "h264", width, height, payloads, extradata=extradata)


def stretched_timestamps(path: Path, *, hours: float) -> Path:
    """Two frames, the second ``hours`` after the first: the container says the video lasts that long."""
    packets, extradata = _encode("libx264", 64, 64, 2, {"preset": "ultrafast", "g": "1"})
    payloads = [(0, packets[0], True), (round(hours * 3600 * 25), packets[1], True)]
    return _mux(path, "matroska", "h264", 64, 64, payloads, extradata=extradata)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def giant_png(side: int) -> bytes:
    """A grey PNG of ``side`` x ``side`` pixels: a few hundred kilobytes that decode to side^2 bytes."""
    compressor = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0 and black pixels
    rows_per_chunk = max(1, (1 << 20) // len(row))
    parts, left = [], side
    while left:
        n = min(rows_per_chunk, left)
        parts.append(compressor.compress(row * n))
        left -= n
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def giant_frames(path: Path, *, side: int = 12000, frames: int = 3) -> Path:
    """An MP4 whose header says 16x16 but whose PNG frames are ``side`` pixels square."""
    data = giant_png(side)
    payloads = [(pts, data, True) for pts in range(frames)]
    return _mux(path, "mp4", "png", 16, 16, payloads, pix_fmt="gray", rate=1)


def still_image(path: Path, codec: str = "png") -> Path:
    """A real PNG or JPEG picture, as a camera or a screenshot tool writes it."""
    pix_fmt = {"png": "rgb24", "mjpeg": "yuvj420p"}[codec]
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        image = np.full((48, 64, 3), 128, dtype=np.uint8)
        out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)))
        out.mux(stream.encode(None))
    return path


def audio_only(path: Path) -> Path:
    """A WAV file: a real media file, with no picture."""
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        samples = np.zeros((1, 8000), dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        frame.pts = 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
