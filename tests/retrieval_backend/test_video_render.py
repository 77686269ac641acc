"""Rendering clips: what a coach's browser receives, the cache, and what a failed render leaves behind."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import pytest

from retrieval_backend.video.errors import TruncatedVideo, VideoError
from retrieval_backend.video.probe import probe
from retrieval_backend.video.render import ensure_rendered, render_segment, rendered_path
from retrieval_backend.video.synthetic import frame_code, read_frame_code, write_synthetic_video
from tests.retrieval_backend.video_files import cut_in_half, write_matroska, write_odd_sized, write_phone_portrait

FPS = 25
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def drill_with_sound(tmp_path_factory) -> Path:
    """10 s, 320x180, with an AAC track; frames show their index."""
    return write_synthetic_video(
        tmp_path_factory.mktemp("render") / "drill.mp4",
        seconds=10,
        fps=FPS,
        width=320,
        height=180,
        audio=True,
        draw=frame_code(320, 180),
        keyframe_interval_s=2.0,
    )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def top_level_boxes(path: Path) -> list[str]:
    """Box types in file order, read straight from the bytes."""
    data = path.read_bytes()
    types, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        types.append(kind.decode("latin-1"))
        offset += size
    return types


def decoded_frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_it_renders_h264_main_yuv420p_with_aac_when_the_source_has_sound(drill_with_sound, tmp_path):
    clip = render_segment(drill_with_sound, tmp_path / "clip.mp4", 2.0, 6.0)
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.profile == "Main"
        assert video.codec_context.format.name == "yuv420p"
        assert [stream.codec_context.name for stream in container.streams.audio] == ["aac"]
    info = probe(clip)
    assert (info.width, info.height) == (320, 180)
    assert info.has_audio


def test_it_renders_no_audio_track_when_the_source_has_none(make_video, tmp_path):
    silent = make_video("silent.mp4", seconds=3)
    clip = render_segment(silent, tmp_path / "clip.mp4", 0.5, 2.5)
    with av.open(str(clip)) as container:
        assert len(container.streams.audio) == 0
        assert container.streams.video[0].codec_context.profile == "Main"


def test_it_cuts_exactly_the_segment_with_timestamps_from_zero(drill_with_sound, tmp_path):
    clip = render_segment(drill_with_sound, tmp_path / "clip.mp4", 2.0, 6.0)
    frames = decoded_frames(clip)
    # A packet copy would start at the keyframe before 2 s; a re-encode starts on frame 50.
    assert read_frame_code(frames[0].to_ndarray(format="rgb24")) == 50
    assert read_frame_code(frames[-1].to_ndarray(format="rgb24")) == 149
    assert len(frames) == 100
    assert frames[0].time == pytest.approx(0.0, abs=1e-6)
    assert probe(clip).duration_s == pytest.approx(4.0, abs=1 / FPS)


def test_its_audio_lasts_as_long_as_the_video(drill_with_sound, tmp_path):
    clip = render_segment(drill_with_sound, tmp_path / "clip.mp4", 3.3, 7.9)
    with av.open(str(clip)) as container:
        audio = container.streams.audio[0]
        start = float(audio.start_time * audio.time_base)
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert start == pytest.approx(0.0, abs=0.03)
    assert samples / audio.rate == pytest.approx(4.6, abs=1 / FPS)


def test_it_cuts_a_segment_that_does_not_start_on_a_frame(drill_with_sound, tmp_path):
    clip = render_segment(drill_with_sound, tmp_path / "clip.mp4", 1.01, 3.49)
    frames = decoded_frames(clip)
    # Frames whose display centre lies in the segment: 25 (1.00-1.04 s) to 86 (3.44-3.48 s).
    assert read_frame_code(frames[0].to_ndarray(format="rgb24")) == 25
    assert read_frame_code(frames[-1].to_ndarray(format="rgb24")) == 86
    assert probe(clip).duration_s == pytest.approx(2.48, abs=1 / FPS)


def test_it_puts_the_index_before_the_media_data(drill_with_sound, tmp_path):
    boxes = top_level_boxes(render_segment(drill_with_sound, tmp_path / "clip.mp4", 0.0, 4.0))
    assert "moov" in boxes
    assert boxes.index("moov") < boxes.index("mdat")


def test_it_makes_odd_sizes_even_and_scales_tall_video_down(tmp_path):
    odd = write_odd_sized(tmp_path / "odd.mp4", width=161, height=121)
    same = probe(render_segment(odd, tmp_path / "same.mp4", 0.0, 2.0))
    assert (same.width % 2, same.height % 2) == (0, 0)
    assert same.height == 120
    smaller = probe(render_segment(odd, tmp_path / "smaller.mp4", 0.0, 2.0, max_height=100))
    assert (smaller.width, smaller.height) == (134, 100)


def test_it_keeps_a_phone_videos_rotation(tmp_path):
    """Players turn the picture upright from the rotation stored with it; a clip without it lies on its side."""
    clip = render_segment(write_phone_portrait(tmp_path / "phone.mp4"), tmp_path / "clip.mp4", 0.0, 2.0)
    first = decoded_frames(clip)[0]
    assert (first.width, first.height) == (160, 96)
    assert first.rotation == 90


def test_it_renders_real_camera_footage(bikes_mp4, tmp_path):
    clip = render_segment(bikes_mp4, tmp_path / "bikes.mp4", 3.0, 7.0)
    info = probe(clip)
    assert (info.width, info.height, info.codec) == (640, 272, "h264")
    assert info.frame_count == 100
    assert not info.has_audio


def test_a_rendered_clip_is_readable_by_other_users(drill_with_sound, tmp_path):
    """nginx serves the cache in production, as a user other than the worker's."""
    clip = render_segment(drill_with_sound, tmp_path / "clip.mp4", 0.0, 1.0)
    assert clip.stat().st_mode & stat.S_IROTH


def test_the_cache_key_is_the_source_and_the_segment_to_the_millisecond(tmp_path):
    sha = "ab" + "c" * 62
    path = rendered_path(tmp_path, sha, 12.5, 19.0)
    assert path == tmp_path / "ab" / f"{sha}_12500_19000.mp4"
    assert rendered_path(tmp_path, sha, 12.5000001, 18.9999999) == path
    assert rendered_path(tmp_path, sha, 12.501, 19.0) != path


def test_the_cache_key_refuses_anything_but_a_sha256(tmp_path):
    with pytest.raises(ValueError, match="SHA-256"):
        rendered_path(tmp_path, "../../etc/passwd", 0.0, 1.0)


def test_a_cached_clip_is_not_rendered_again(drill_with_sound, tmp_path):
    sha = sha256_of(drill_with_sound)
    first = ensure_rendered(drill_with_sound, sha, 2.0, 4.0, tmp_path / "cache")
    assert first == rendered_path(tmp_path / "cache", sha, 2.0, 4.0)
    rendered_at = first.stat().st_mtime_ns
    again = ensure_rendered(drill_with_sound, sha, 2.0, 4.0, tmp_path / "cache")
    assert again == first
    assert again.stat().st_mtime_ns == rendered_at
    # Nothing but the clip is left in the shard: no lock or temporary files.
    assert [p.name for p in first.parent.iterdir()] == [first.name]


def test_a_deleted_cached_clip_is_rendered_again(drill_with_sound, tmp_path):
    sha = sha256_of(drill_with_sound)
    clip = ensure_rendered(drill_with_sound, sha, 2.0, 4.0, tmp_path / "cache")
    clip.unlink()
    assert ensure_rendered(drill_with_sound, sha, 2.0, 4.0, tmp_path / "cache").is_file()
    assert probe(clip).frame_count == 50


def test_a_render_cleans_up_after_a_killed_render_of_the_same_clip(drill_with_sound, tmp_path):
    sha = sha256_of(drill_with_sound)
    clip = rendered_path(tmp_path / "cache", sha, 2.0, 4.0)
    clip.parent.mkdir(parents=True)
    abandoned = clip.parent / f".{clip.stem}.k1ll3d.part"
    abandoned.write_bytes(b"half a clip")
    an_hour_ago = time.time() - 3600
    os.utime(abandoned, (an_hour_ago, an_hour_ago))
    assert ensure_rendered(drill_with_sound, sha, 2.0, 4.0, tmp_path / "cache") == clip
    assert [p.name for p in clip.parent.iterdir()] == [clip.name]


def test_two_processes_rendering_the_same_clip_share_one_file(drill_with_sound, tmp_path):
    sha = sha256_of(drill_with_sound)
    code = textwrap.dedent(
        """
        import sys
        from retrieval_backend.video.render import ensure_rendered
        print(ensure_rendered(sys.argv[1], sys.argv[2], 1.0, 5.0, sys.argv[3]))
        """
    )
    argv = [sys.executable, "-c", code, str(drill_with_sound), sha, str(tmp_path / "cache")]
    workers = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    paths = {out.decode().strip() for out, _ in outputs}
    assert paths == {str(rendered_path(tmp_path / "cache", sha, 1.0, 5.0))}
    clip = Path(paths.pop())
    assert probe(clip).frame_count == 100
    assert [p.name for p in clip.parent.iterdir()] == [clip.name]


def test_a_failed_render_leaves_no_file(tmp_path):
    half = cut_in_half(write_matroska(tmp_path / "whole.mkv", seconds=4), tmp_path / "half.mkv")
    out = tmp_path / "clips"
    with pytest.raises(TruncatedVideo):
        render_segment(half, out / "clip.mp4", 0.5, 3.5)
    assert list(out.iterdir()) == []


def test_a_failed_render_keeps_the_clip_already_there(drill_with_sound, tmp_path):
    clip = render_segment(drill_with_sound, tmp_path / "clip.mp4", 0.0, 2.0)
    before = clip.read_bytes()
    with pytest.raises(VideoError, match="but the video lasts"):
        render_segment(drill_with_sound, clip, 8.0, 12.0)
    assert clip.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_full_disk_is_reported_and_leaves_no_file(drill_with_sound, tmp_path):
    """A file size limit makes writes fail the way a full disk does, part way into the clip."""
    code = textwrap.dedent(
        """
        import resource, signal, sys
        from retrieval_backend.video.errors import VideoError
        from retrieval_backend.video.render import render_segment
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
        try:
            render_segment(sys.argv[1], sys.argv[2], 0.0, 8.0)
        except VideoError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    out = tmp_path / "clips"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code, str(drill_with_sound), str(out / "clip.mp4")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "file size limit reached" in result.stdout
    assert f"free space in {out}" in result.stdout
    assert list(out.iterdir()) == []


def test_it_rejects_a_segment_outside_the_video(drill_with_sound, tmp_path):
    with pytest.raises(VideoError, match="not before its end"):
        render_segment(drill_with_sound, tmp_path / "clip.mp4", 5.0, 5.0)
    assert not (tmp_path / "clip.mp4").exists()
