"""Cut a segment of a source video into a small MP4 that every browser plays and seeks.

Coaches never get whole source videos, only the segment under judgement. The
segment is re-encoded, never packet-copied: a copy has to start at the keyframe
before the segment, so the coach would see (and judge) seconds that aren't part
of the clip. The output is what Safari, Chrome and Firefox all play: H.264 main
profile, yuv420p, even dimensions, AAC audio, and the index (``moov``) ahead of
the media data so playback starts before the download ends.

Rendered clips are cached by (source checksum, start, end). A render writes a
temporary file next to its destination and renames it into place, so a crash,
a killed worker or a full disk never leaves a half-written clip to be served.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import re
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from retrieval_backend.video.errors import StorageFull, VideoError
from retrieval_backend.video.mp4_boxes import read_box_layout
from retrieval_backend.video.segment import OpenVideo, check_segment, open_video, reason, segment_frames

DEFAULT_MAX_HEIGHT = 720
# superfast keeps rendering under a tenth of the clip's length on two cores
# (veryfast costs about 40% more time for files about 25% smaller); crf 23 is
# x264's default quality, fine for judging technique on a tablet.
_X264_OPTIONS = {"profile": "main", "preset": "superfast", "crf": "23"}
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# A render writes its temporary file continuously; one untouched this long was abandoned.
_ABANDONED_AFTER_S = 600


def rendered_path(cache_dir: str | Path, sha256: str, start_s: float, end_s: float) -> Path:
    """Where the clip for (source checksum, start, end) lives in the cache.

    Times are rounded to milliseconds so that 12.5 and 12.5000001 share a file;
    the first two hex digits shard the folder, keeping directories small at
    hundreds of thousands of clips.
    """
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"expected a lowercase hex SHA-256 of the source video, got {sha256!r}")
    start_ms, end_ms = round(start_s * 1000), round(end_s * 1000)
    return Path(cache_dir) / sha256[:2] / f"{sha256}_{start_ms}_{end_ms}.mp4"


def ensure_rendered(
    src_uri: str | Path,
    sha256: str,
    start_s: float,
    end_s: float,
    cache_dir: str | Path,
    *,
    max_height: int = DEFAULT_MAX_HEIGHT,
) -> Path:
    """Return the cached clip of the segment, rendering it first if it isn't there yet.

    Safe across processes: a lock file makes a second renderer of the same clip
    wait and then reuse the first one's file, and the atomic rename means that
    even without the lock (a file system where ``flock`` is a no-op) two renders
    would only replace one complete file by another. ``max_height`` is not part
    of the cache key: use one value per cache folder.
    """
    dst = rendered_path(cache_dir, sha256, start_s, end_s)
    if dst.is_file():
        return dst
    lock_path = dst.with_name(f".{dst.name}.lock")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "ab")  # noqa: SIM115 - closed by the with block below
    except OSError as exc:  # a full disk or a read-only cache folder
        raise _render_error(exc, src_uri, start_s, end_s, dst) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not dst.is_file():  # another process may have rendered it while we waited
                _remove_abandoned_parts(dst)
                render_segment(src_uri, dst, start_s, end_s, max_height=max_height)
        finally:
            # Removing the lock file while holding it is safe here: a process that
            # still locks the old inode re-checks ``dst`` before rendering.
            lock_path.unlink(missing_ok=True)
    return dst


def _remove_abandoned_parts(dst: Path) -> None:
    """Delete temporary files that killed renders of this clip left behind.

    Runs under the clip's lock, so no render of this clip through
    ``ensure_rendered`` is writing; the age check spares a render started by
    calling ``render_segment`` directly.
    """
    cutoff = time.time() - _ABANDONED_AFTER_S
    for part in dst.parent.glob(f".{glob.escape(dst.stem)}.*.part"):
        with contextlib.suppress(OSError):
            if part.stat().st_mtime < cutoff:
                part.unlink()


def render_segment(
    src_uri: str | Path,
    dst_path: str | Path,
    start_s: float,
    end_s: float,
    *,
    max_height: int = DEFAULT_MAX_HEIGHT,
) -> Path:
    """Re-encode ``[start_s, end_s)`` of ``src_uri`` into a browser-ready MP4 at ``dst_path``.

    Timestamps start at 0. Frames taller than ``max_height`` are scaled down,
    keeping the aspect ratio. Raises ``VideoError`` (``TruncatedVideo`` when the
    source runs out early) and leaves nothing at ``dst_path`` on any failure.
    """
    dst = Path(dst_path)
    if max_height < 2:
        raise ValueError(f"max_height must be at least 2 pixels, got {max_height}")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=".part", dir=dst.parent)
        os.close(fd)
    except OSError as exc:
        raise _render_error(exc, src_uri, start_s, end_s, dst) from None
    tmp = Path(tmp_name)
    try:
        frames, has_audio = _encode(str(src_uri), tmp, start_s, end_s, max_height)
        _verify(tmp, frames, has_audio)
        _fsync(tmp)
        # mkstemp makes the file private (0600); a front server (nginx) serving the
        # cache runs as another user and must be able to read it.
        tmp.chmod(0o644)
        os.replace(tmp, dst)
    except VideoError:
        tmp.unlink(missing_ok=True)
        raise
    except (av.FFmpegError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise _render_error(exc, src_uri, start_s, end_s, dst) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dst.parent)
    return dst


def output_size(width: int, height: int, max_height: int = DEFAULT_MAX_HEIGHT) -> tuple[int, int]:
    """The clip's frame size: at most ``max_height`` tall, same aspect ratio, both sides even.

    H.264 in yuv420p stores colour at half resolution, so odd sides are refused
    by the encoder (or padded inconsistently by players).
    """
    out_h = min(height, max_height)
    out_w = width * out_h / height
    return max(2, round(out_w / 2) * 2), max(2, out_h // 2 * 2)


def _encoder_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _encode(src_uri: str, tmp: Path, start_s: float, end_s: float, max_height: int) -> tuple[int, bool]:
    """Decode the segment once and encode it into ``tmp``; return (video frames written, has audio)."""
    with open_video(src_uri) as source:
        check_segment(source, start_s, end_s)
        ctx = source.video.codec_context
        width, height = output_size(ctx.width, ctx.height, max_height)
        rate = Fraction(source.video.average_rate or source.video.guessed_rate).limit_denominator(1001)
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            video = out.add_stream("libx264", rate=rate, time_base=1 / rate)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.options = dict(_X264_OPTIONS, g=str(max(1, round(2 * float(rate)))))
            # Frame threads need an explicit count: left at 0 ("auto"), x264 here ran on one core.
            video.codec_context.thread_type = "FRAME"
            video.codec_context.thread_count = _encoder_threads()
            sound = _AudioTrack(out, source, start_s, end_s) if source.audio is not None else None
            written = _copy_segment(source, out, video, sound, start_s, end_s, rate)
    return written, sound is not None


def _copy_segment(
    source: OpenVideo,
    out: av.container.OutputContainer,
    video: av.video.stream.VideoStream,
    sound: _AudioTrack | None,
    start_s: float,
    end_s: float,
    rate: Fraction,
) -> int:
    segment_start = source.start_offset_s + start_s
    time_base = video.codec_context.time_base
    reformatter = VideoReformatter()  # one scaler context for the whole clip
    # Audio waits for the first video frame: the file header, written with the
    # first packet, must carry the rotation that only a decoded frame reveals.
    waiting_audio: list[av.AudioFrame] | None = []
    last_pts = -1
    written = 0
    for frame in segment_frames(source, start_s, end_s, with_audio=sound is not None):
        if isinstance(frame, av.AudioFrame):
            if waiting_audio is not None:
                waiting_audio.append(frame)
            elif sound is not None:
                sound.add(frame)
            continue
        if written == 0 and frame.rotation:
            # Phones store portrait video as landscape plus a rotation; players apply it.
            video.set_display_rotation(frame.rotation)
        image = reformatter.reformat(frame, width=video.width, height=video.height, format="yuv420p")
        # Source timing is kept (variable frame rates stay in sync with audio), on
        # the output's clock, never going backwards.
        pts = max(last_pts + 1, round((frame.time - segment_start) * rate))
        image.pts, image.time_base = pts, time_base
        # A decoded keyframe would force one in the output; let x264 choose its own GOP.
        image.pict_type = av.video.frame.PictureType.NONE
        out.mux(video.encode(image))
        last_pts = pts
        written += 1
        if waiting_audio is not None and sound is not None:
            for audio in waiting_audio:
                sound.add(audio)
        waiting_audio = None
    out.mux(video.encode(None))
    if sound is not None:
        for audio in waiting_audio or ():
            sound.add(audio)
        sound.finish()
    return written


class _AudioTrack:
    """The segment's audio, cut to the sample and re-encoded as AAC with timestamps from 0."""

    def __init__(self, out: av.container.OutputContainer, source: OpenVideo, start_s: float, end_s: float):
        src = source.audio.codec_context
        self.rate = src.sample_rate if src.sample_rate in _AAC_RATES else 48000
        self.layout = "stereo" if src.channels >= 2 else "mono"
        self.out = out
        self.stream = out.add_stream("aac", rate=self.rate, layout=self.layout)
        # The default two-loop search costs twice the time for a difference no one hears on a tablet.
        self.stream.options = {"aac_coder": "fast"}
        self.stream.codec_context.bit_rate = 128_000 if self.layout == "stereo" else 96_000
        self.resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
        self.segment_start = source.start_offset_s + start_s
        self.total = round((min(end_s, source.duration_s) - start_s) * self.rate)
        self.written = 0
        # Output sample index of the next resampled sample; set by the first frame's time.
        self.cursor: int | None = None

    def add(self, frame: av.AudioFrame | None) -> None:
        if self.cursor is None:
            if frame is None or frame.time is None:
                return
            self.cursor = round((frame.time - self.segment_start) * self.rate)
        for chunk in self.resampler.resample(frame):
            samples = chunk.to_ndarray()
            first = self.cursor
            self.cursor += samples.shape[1]
            # Keep the samples that fall in [written, total): drops what precedes
            # the segment or was already written, and what runs past its end.
            lo, hi = max(self.written, first), min(self.total, self.cursor)
            if lo > self.written:
                self._write(np.zeros((samples.shape[0], lo - self.written), dtype=np.float32))
            if hi > lo:
                self._write(samples[:, lo - first : hi - first])

    def finish(self) -> None:
        self.add(None)  # drain the resampler
        if self.written < self.total:
            # Audio that ends before the video (or is missing) is padded with silence
            # so that players don't stop the clip early.
            channels = 2 if self.layout == "stereo" else 1
            self._write(np.zeros((channels, self.total - self.written), dtype=np.float32))
        self.out.mux(self.stream.encode(None))

    def _write(self, samples: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=self.layout
        )
        frame.sample_rate = self.rate
        frame.pts = self.written
        frame.time_base = Fraction(1, self.rate)
        self.out.mux(self.stream.encode(frame))
        self.written += samples.shape[1]


def _verify(path: Path, frames: int, has_audio: bool) -> None:
    """Re-open the written file: the muxer may report success when the last flush failed."""
    layout = read_box_layout(path)
    if layout is None or layout.cut_short is not None or not layout.is_faststart:
        raise VideoError(f"the rendered file is incomplete ({_describe(layout)}); the disk may be full: {path}")
    if frames == 0:
        raise VideoError("the segment holds no video frame to render")
    with av.open(str(path)) as check:
        if not check.streams.video or int(check.streams.video[0].frames) != frames:
            raise VideoError(f"the rendered file does not hold the {frames} frames written: {path}")
        if has_audio and not check.streams.audio:
            raise VideoError(f"the rendered file lost its audio track: {path}")


def _describe(layout: object) -> str:
    if layout is None:
        return "not an MP4"
    if layout.cut_short is not None:
        return f"the {layout.cut_short.type or 'last'} box is cut short"
    return "the index does not precede the media data"


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every file system allows it.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _render_error(exc: BaseException, src_uri: str | Path, start_s: float, end_s: float, dst: Path) -> VideoError:
    code = getattr(exc, "errno", None)
    if code in _DISK_FULL:
        what = "no space left on device" if code != errno.EFBIG else "file size limit reached"
        return StorageFull(
            f"{what} while rendering {start_s:.2f}-{end_s:.2f} s of {src_uri}; "
            f"free space in {dst.parent} or point the clip cache elsewhere"
        )
    return VideoError(f"rendering {start_s:.2f}-{end_s:.2f} s of {src_uri} failed ({reason(exc)})")


__all__ = ["DEFAULT_MAX_HEIGHT", "ensure_rendered", "output_size", "render_segment", "rendered_path"]
