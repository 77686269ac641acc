"""Probe a media file: duration, frame rate, size, codec, audio, checksum.

A probe also decodes the last second of the video. Containers report the
duration they were written with, and a file cut short in transfer still
reports it; decoding the tail is what notices that the frames are not there.

A file can also be crafted (or just encoded badly) to be slow to decode: a
frame of 12000x12000 pixels, or an hour of frames after a single keyframe,
fits in a few hundred kilobytes. FFmpeg's own timeout only bounds waiting
for network reads, so the probe bounds the decoding itself: frames larger
than ``MAX_SIDE`` on a side are refused before they are decoded (FFmpeg's
``max_pixels``), the tail is decoded from at most ``MAX_TAIL_PIXELS`` worth
of frames, and within the probe's time limit.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import av

from retrieval_backend.video.errors import NotAVideo, SlowToDecode, TruncatedVideo, VideoError, VideoNotFound
from retrieval_backend.video.mp4_boxes import read_box_layout

_HASH_CHUNK = 1 << 20
_SNIFF_BYTES = 4096
_REMOTE_SCHEMES = ("http://", "https://")
# 8K (7680x4320, DCI 8192x4320) and anything smaller; a larger frame is refused before FFmpeg allocates it.
MAX_SIDE = 8192
MAX_PIXELS = MAX_SIDE * MAX_SIDE
# Decoding the tail may start this many pixels' worth of frames before the end: 3000 frames of 1080p,
# two minutes at 25 fps between keyframes. More means too few keyframes to cut clips from.
MAX_TAIL_PIXELS = 3000 * 1920 * 1080
# A gallery or query video lasts minutes; a day is the longest a manifest may point into (fields.MAX_SECONDS).
MAX_DURATION_S = 24 * 3600.0
MAX_FPS = 1000.0
_DECODER_OPTIONS = {"max_pixels": str(MAX_PIXELS)}


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    fps: float
    width: int
    height: int
    codec: str
    has_audio: bool
    frame_count: int
    sha256: str
    size_bytes: int | None


def is_remote(uri: str) -> bool:
    return uri.lower().startswith(_REMOTE_SCHEMES)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_local_file(uri: str) -> int:
    """Diagnose a local file before FFmpeg sees it and return its size.

    FFmpeg answers "Invalid data found" for an empty file, a text file and a cut
    MP4 alike; each of these has a different fix, so each gets its own message.
    """
    path = Path(uri)
    if not path.exists():
        raise VideoNotFound(f"no such file: {uri}")
    if not path.is_file():
        raise VideoNotFound(f"not a regular file: {uri}")
    size = path.stat().st_size
    if size == 0:
        raise NotAVideo(uri, "the file is empty (0 bytes)", "copy the video again, or check the path")
    layout = read_box_layout(path)
    if layout is not None and layout.cut_short is not None:
        box = layout.cut_short
        raise TruncatedVideo(
            uri,
            f"the MP4 ends at byte {size} inside its {box.type or 'last'!r} box, which needs {box.end} bytes; "
            "the file was cut short",
        )
    return size


def open_input(uri: str, *, timeout_s: float = 60.0) -> av.container.InputContainer:
    """Open a video for reading, turning FFmpeg's errors into ``VideoError`` with a reason."""
    try:
        # max_pixels reaches the decoders that av.open runs to find the streams' parameters.
        # Metadata is only shown, never trusted: bytes that are not UTF-8 (junk, or an old
        # camera's Latin-1 title) are replaced rather than failing the open.
        return av.open(uri, timeout=timeout_s, options=dict(_DECODER_OPTIONS), metadata_errors="replace")
    except av.FFmpegError as exc:
        raise _unreadable(uri, exc) from None


def _unreadable(uri: str, exc: av.FFmpegError) -> VideoError:
    """Name the reason FFmpeg gave up on a file, from its bytes when they show it."""
    if isinstance(exc, FileNotFoundError):
        return VideoNotFound(f"no such file: {uri}")
    if not is_remote(uri) and Path(uri).is_file():
        with open(uri, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        if _looks_like_text(head):
            return NotAVideo(uri, "the file is text, not a video", "check that the path names the video you meant")
        layout = read_box_layout(uri)
        if layout is not None and "moov" not in layout.types():
            return TruncatedVideo(
                uri, "the MP4 has no index (moov box): the recording was interrupted or the file cut short"
            )
    return NotAVideo(uri, f"FFmpeg: {_reason(exc)}")


def _looks_like_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sniffed block is still text.
        return exc.start >= len(head) - 3
    return True


def probe(uri: str | Path, *, timeout_s: float = 60.0, check_tail: bool = True) -> VideoInfo:
    """Read a video's metadata, raising ``VideoError`` with a readable reason when it can't be used.

    ``uri`` is a local path or an http(s) URL. Remote files are identified by the
    checksum of their URL, as hashing their bytes would mean downloading them.
    """
    uri = str(uri)
    size: int | None = None
    if is_remote(uri):
        sha256 = hashlib.sha256(f"url:{uri}".encode()).hexdigest()
    else:
        size = check_local_file(uri)
        sha256 = file_sha256(uri)

    container = open_input(uri, timeout_s=timeout_s)
    with container:
        stream = video_stream(container, uri)
        ctx = stream.codec_context
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        duration = stream_duration_s(container, stream)
        _check_limits(uri, duration, fps, int(ctx.width), int(ctx.height))
        frame_count = min(int(stream.frames) or round(duration * fps), round(MAX_DURATION_S * MAX_FPS))
        info = VideoInfo(
            duration_s=duration,
            fps=fps,
            width=int(ctx.width),
            height=int(ctx.height),
            codec=ctx.name,
            has_audio=bool(container.streams.audio),
            frame_count=frame_count,
            sha256=sha256,
            size_bytes=size,
        )
        if check_tail:
            _check_tail(container, stream, info, uri, timeout_s)
    return info


def video_stream(container: av.container.InputContainer, uri: str) -> av.video.stream.VideoStream:
    """The first video stream, if FFmpeg found one with a frame size, a frame rate and a duration.

    Junk bytes often open: FFmpeg takes them for subtitles, sound, an image, or a
    video stream it can say nothing about. Each of these is ``NotAVideo``.
    """
    if not container.streams.video:
        kinds = sorted({stream.type for stream in container.streams})
        found = f", only {' and '.join(kinds)}" if kinds else ""
        raise NotAVideo(uri, f"FFmpeg finds no video stream in it{found}")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if _is_still_image(container):
        raise NotAVideo(uri, f"the file is a still image ({ctx.name}), not a video")
    if not ctx.width or not ctx.height:
        raise NotAVideo(
            uri,
            "the video stream reports no frame size, or frames larger than "
            f"{MAX_SIDE}x{MAX_SIDE} pixels, which are not accepted",
        )
    if float(stream.average_rate or stream.guessed_rate or 0) <= 0 or stream_duration_s(container, stream) <= 0:
        raise NotAVideo(uri, "the video stream reports no duration or frame rate")
    return stream


def _is_still_image(container: av.container.InputContainer) -> bool:
    """FFmpeg opens a PNG or JPEG as a one-frame "video" through its image demuxers."""
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def _check_limits(uri: str, duration: float, fps: float, width: int, height: int) -> None:
    """Refuse what no coaching video is and only a damaged or crafted file claims to be."""
    if width > MAX_SIDE or height > MAX_SIDE:
        raise SlowToDecode(
            f"the video is {width}x{height} pixels; at most {MAX_SIDE} pixels a side are accepted: "
            f"re-encode it smaller (for example to 1920x1080): {uri}"
        )
    if duration > MAX_DURATION_S:
        raise NotAVideo(
            uri, f"it says it lasts {duration:.0f} s, more than 24 hours; it is damaged or its timestamps are wrong"
        )
    if fps > MAX_FPS:
        raise NotAVideo(
            uri,
            f"it says it has {fps:.0f} frames per second, more than {MAX_FPS:.0f}; "
            "it is damaged or its timestamps are wrong",
        )


def stream_duration_s(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """The video stream's length in seconds, from the stream's own duration or else the container's; 0 if neither."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _check_tail(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    uri: str,
    timeout_s: float = 60.0,
) -> None:
    """Decode from the keyframe before the last second; the last frame must reach the end.

    At most ``MAX_TAIL_PIXELS`` worth of frames are decoded, within ``timeout_s``.
    """
    start = _stream_start_s(stream)
    target = start + max(0.0, info.duration_s - 1.0)
    last_time: float | None = None
    first_time: float | None = None
    max_frames = max(1, MAX_TAIL_PIXELS // (info.width * info.height))
    deadline = time.monotonic() + timeout_s
    stream.codec_context.options = dict(_DECODER_OPTIONS)
    try:
        container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
        for decoded, frame in enumerate(container.decode(stream), start=1):
            if frame.time is not None:
                last_time = frame.time
                first_time = last_time if first_time is None else first_time
            if decoded > max_frames:
                since = "" if first_time is None else f" (the keyframe before it is at {first_time - start:.1f} s)"
                raise SlowToDecode(
                    f"checking the end of the video needs more than {max_frames} frames decoded from the keyframe "
                    f"before its last second{since}: it has too few keyframes to cut clips from quickly; "
                    f"re-encode it with a keyframe every few seconds (for example ffmpeg -i IN -g 50 OUT): {uri}"
                )
            if time.monotonic() > deadline:
                raise SlowToDecode(
                    f"decoding the end of the video took longer than the probe's time limit of {timeout_s:g} s "
                    f"(VIDEO_PROBE_TIMEOUT_S); it is too slow to decode: re-encode it smaller or with a keyframe "
                    f"every few seconds: {uri}"
                )
    except av.FFmpegError as exc:
        raise TruncatedVideo(
            uri, f"decoding failed near the end, FFmpeg: {_reason(exc)}; the file may be truncated"
        ) from None
    frame_s = 1.0 / info.fps
    expected_last = start + info.duration_s - frame_s
    # Two frames and a little slack: durations are rounded by muxers.
    if last_time is None or last_time < expected_last - 2 * frame_s - 0.05:
        reached = "no frame" if last_time is None else f"{last_time - start:.2f} s"
        raise TruncatedVideo(
            uri,
            f"the video says it lasts {info.duration_s:.2f} s but decoding stops at {reached}; "
            "the file is truncated or damaged",
        )


def _stream_start_s(stream: av.video.stream.VideoStream) -> float:
    if stream.start_time is not None and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip() or type(exc).__name__


__all__ = [
    "SlowToDecode",
    "VideoError",
    "VideoInfo",
    "check_local_file",
    "file_sha256",
    "is_remote",
    "open_input",
    "probe",
    "video_stream",
]
