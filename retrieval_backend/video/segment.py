"""Decode one segment of a video: one seek to the keyframe before it, then forward to its end.

Frame sampling and clip rendering both read segments this way. Seeking once and
decoding forward costs about as much as decoding the segment itself; seeking
again for every wanted frame redoes the work from the keyframe each time and is
2 to 4 times slower on real footage with keyframes seconds apart.

The reader also counts what it decodes. Containers keep the duration they were
written with even when the file was cut short, and decoders skip damaged
packets quietly, so a segment that yields fewer frames than its length and frame
rate promise is reported as truncated instead of being accepted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import av

from retrieval_backend.video.errors import TruncatedVideo, VideoError
from retrieval_backend.video.probe import check_local_file, is_remote, open_input, stream_duration_s, video_stream

# Seeking must land on a keyframe at or before the segment start. A few demuxers
# land after it (open GOPs, odd edit lists); then we back off this far and retry once.
_SEEK_BACKOFF_S = 8.0


@dataclass
class SegmentStats:
    """What one segment read cost and found: the basis of the truncation check and the benchmark."""

    seeks: int = 0
    frames_decoded: int = 0
    frames_in_segment: int = 0
    first_time_s: float | None = None
    last_time_s: float | None = None
    reached_eof: bool = False


@dataclass
class OpenVideo:
    """An open container, its first video stream, and the numbers segment checks need."""

    uri: str
    container: av.container.InputContainer
    video: av.video.stream.VideoStream
    audio: av.audio.stream.AudioStream | None
    fps: float
    duration_s: float
    start_offset_s: float
    stats: SegmentStats = field(default_factory=SegmentStats)

    @property
    def frame_s(self) -> float:
        return 1.0 / self.fps


def decode_threads() -> int:
    """FFmpeg threads per decoder: the VIDEO_DECODE_THREADS setting (or variable, outside Django); 0 = FFmpeg's."""
    try:
        from django.conf import settings

        if settings.configured:
            return settings.VIDEO_DECODE_THREADS
    except ImportError:  # the GPU check script runs without Django
        pass
    value = os.environ.get("VIDEO_DECODE_THREADS", "").strip()
    return int(value) if value.isdigit() else 0


@contextmanager
def open_video(uri: str | Path, *, timeout_s: float = 60.0) -> Iterator[OpenVideo]:
    """Open ``uri`` for decoding with frame threads, raising ``VideoError`` with a reason when it can't be."""
    uri = str(uri)
    if not is_remote(uri):
        check_local_file(uri)
    with open_input(uri, timeout_s=timeout_s) as container:
        video = video_stream(container, uri)
        # Frame and slice threads: decoding is most of the cost of sampling and rendering.
        video.thread_type = "AUTO"
        threads = decode_threads()
        if threads:
            video.codec_context.thread_count = threads
        fps = float(video.average_rate or video.guessed_rate or 0)
        duration = stream_duration_s(container, video)
        audio = container.streams.audio[0] if container.streams.audio else None
        yield OpenVideo(
            uri=uri,
            container=container,
            video=video,
            audio=audio,
            fps=fps,
            duration_s=duration,
            start_offset_s=_start_offset_s(video),
        )


def check_segment(source: OpenVideo, start_s: float, end_s: float) -> None:
    """Reject segments that can't be cut from this video, saying which bound is wrong."""
    if not (start_s == start_s and end_s == end_s):  # NaN compares unequal to itself
        raise VideoError(f"segment bounds must be numbers, got {start_s!r} to {end_s!r}: {source.uri}")
    if start_s < 0:
        raise VideoError(f"segment start {start_s:.3f} s is negative; starts are seconds from 0: {source.uri}")
    if start_s >= end_s:
        raise VideoError(f"segment start {start_s:.3f} s is not before its end {end_s:.3f} s: {source.uri}")
    if end_s - start_s < source.frame_s - 1e-6:
        raise VideoError(
            f"segment {start_s:.3f}-{end_s:.3f} s is shorter than one frame ({source.frame_s:.3f} s at "
            f"{source.fps:g} fps); lengthen it: {source.uri}"
        )
    if start_s + source.frame_s / 2 > source.duration_s + 1e-6:
        raise VideoError(
            f"segment starts at {start_s:.3f} s but the video lasts {source.duration_s:.3f} s; "
            f"check the segment's start: {source.uri}"
        )
    # Muxers round durations; a segment may end a frame past the stated length.
    if end_s > source.duration_s + source.frame_s + 0.05:
        raise VideoError(
            f"segment ends at {end_s:.3f} s but the video lasts {source.duration_s:.3f} s; "
            f"shorten the segment: {source.uri}"
        )


def expected_frames(source: OpenVideo, start_s: float, end_s: float) -> int:
    """Frames the segment should hold at the stream's frame rate, the video's end permitting."""
    end_s = min(end_s, source.duration_s)
    return max(1, round((end_s - start_s) * source.fps))


def segment_packets(source: OpenVideo, start_s: float, *, with_audio: bool = False) -> Iterator[av.Packet]:
    """Seek once to the keyframe before ``start_s`` and yield packets from there on."""
    streams = [source.video, source.audio] if with_audio and source.audio is not None else [source.video]
    target = source.start_offset_s + start_s
    _seek(source, target)
    yield from source.container.demux(*streams)


def segment_frames(
    source: OpenVideo, start_s: float, end_s: float, *, with_audio: bool = False
) -> Iterator[av.VideoFrame | av.AudioFrame]:
    """Yield the segment's video frames (and, when asked, audio frames near it), in decoding order.

    Video frames are those shown mostly inside the segment: a frame displayed
    from ``t`` to ``t + 1/fps`` (``t`` measured from the stream's start) belongs
    when its middle lies in ``[start_s, end_s)``. Their ``time`` keeps the
    stream's own clock. Audio frames are yielded untrimmed from the seek point
    on: the caller cuts them to the sample. Decoding stops once video is past the
    end (and audio, when asked, too). At the end the decoded count is compared
    with the expected one, and ``TruncatedVideo`` is raised when frames are
    missing.
    """
    check_segment(source, start_s, end_s)
    stats = source.stats
    half = source.frame_s / 2
    offset = source.start_offset_s
    lo, hi = offset + start_s - half, offset + end_s - half
    audio_done = not (with_audio and source.audio is not None)
    video_done = False
    # Audio decoded before the first video frame waits: if that frame shows the
    # seek landed late, decoding starts over and the waiting audio is dropped.
    pending_audio: list[av.AudioFrame] | None = []
    retried = False
    packets = segment_packets(source, start_s, with_audio=with_audio)
    try:
        while not (video_done and audio_done):
            packet = next(packets, None)
            if packet is None:
                stats.reached_eof = True
                break
            for frame in packet.decode():
                if isinstance(frame, av.AudioFrame):
                    if frame.time is not None and frame.time >= offset + end_s:
                        audio_done = True
                    if audio_done:
                        continue
                    if pending_audio is not None:
                        pending_audio.append(frame)
                    else:
                        yield frame
                    continue
                stats.frames_decoded += 1
                t = frame.time
                if t is None:
                    continue
                if pending_audio is not None:
                    if t > lo + source.frame_s and start_s > 0 and not retried:
                        # Landed after the start: seek further back once and start over.
                        retried = True
                        packets = _reseek(source, offset + start_s, with_audio)
                        pending_audio.clear()
                        break
                    stats.first_time_s = t
                    yield from pending_audio
                    pending_audio = None
                if t < lo:
                    continue
                if t >= hi:
                    video_done = True
                    # A short audio track must not keep video decoding long past the end.
                    audio_done = audio_done or t > offset + end_s + 2.0
                    continue
                stats.frames_in_segment += 1
                stats.last_time_s = t
                yield frame
    except av.FFmpegError as exc:
        at = stats.last_time_s - offset if stats.last_time_s is not None else start_s
        raise TruncatedVideo(
            source.uri, f"decoding failed at {at:.2f} s, FFmpeg: {reason(exc)}; the file is truncated or damaged"
        ) from None
    _check_complete(source, start_s, end_s)


def _reseek(source: OpenVideo, target: float, with_audio: bool) -> Iterator[av.Packet]:
    streams = [source.video, source.audio] if with_audio and source.audio is not None else [source.video]
    _seek(source, max(0.0, target - _SEEK_BACKOFF_S))
    return source.container.demux(*streams)


def _seek(source: OpenVideo, target_s: float) -> None:
    stream = source.video
    source.stats.seeks += 1
    try:
        source.container.seek(int(target_s / stream.time_base), stream=stream, backward=True, any_frame=False)
    except av.FFmpegError as exc:
        raise TruncatedVideo(source.uri, f"cannot seek to {target_s:.2f} s, FFmpeg: {reason(exc)}") from None


def _check_complete(source: OpenVideo, start_s: float, end_s: float) -> None:
    """Raise ``TruncatedVideo`` when the segment's frames stop early or have gaps."""
    stats = source.stats
    expected = expected_frames(source, start_s, end_s)
    if stats.last_time_s is None:
        raise TruncatedVideo(
            source.uri,
            f"no frame decodes between {start_s:.2f} s and {end_s:.2f} s although the video says it lasts "
            f"{source.duration_s:.2f} s; the file is truncated or damaged",
        )
    reached = stats.last_time_s - source.start_offset_s
    # The last frame of the segment starts a frame before its end (or the video's
    # end); two frames and a little slack absorb rounded durations.
    last_expected = min(end_s, source.duration_s) - source.frame_s
    stops_early = reached < last_expected - 2 * source.frame_s - 0.05
    # Gaps in the middle: a decoder drops damaged packets without raising.
    has_gaps = stats.frames_in_segment < 0.9 * expected - 2
    if stops_early or has_gaps:
        raise TruncatedVideo(
            source.uri,
            f"the segment {start_s:.2f}-{end_s:.2f} s should hold {expected} frames but "
            f"{stats.frames_in_segment} decode, the last at {reached:.2f} s; the file is truncated or damaged",
        )


def _start_offset_s(stream: av.video.stream.VideoStream) -> float:
    if stream.start_time is not None and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return 0.0


def reason(exc: BaseException) -> str:
    """The human part of an FFmpeg or OS error: "No space left on device", "Invalid data found ..."."""
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip() or type(exc).__name__
