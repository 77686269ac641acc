"""Probing: what a gallery import learns about a video, and the errors it reports for bad files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from retrieval_backend.video.errors import NotAVideo, TruncatedVideo, VideoNotFound
from retrieval_backend.video.probe import probe
from tests.retrieval_backend.video_files import (
    cut_in_half,
    random_bytes,
    with_zeroed_tail,
    without_index,
    write_matroska,
)


def test_it_reads_a_synthetic_video(make_video):
    path = make_video("drill.mp4", seconds=3, fps=25, width=160, height=120)
    info = probe(path)
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert info.fps == pytest.approx(25.0)
    assert (info.width, info.height) == (160, 120)
    assert info.codec == "h264"
    assert info.has_audio is False
    assert info.frame_count == 75
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.size_bytes == path.stat().st_size


def test_it_notices_an_audio_track(make_video):
    assert probe(make_video("with-sound.mp4", seconds=2, audio=True)).has_audio is True


def test_it_reads_real_camera_footage(bikes_mp4, carphone_mp4):
    bikes = probe(bikes_mp4)
    assert (bikes.width, bikes.height, bikes.fps, bikes.frame_count) == (640, 272, 25.0, 250)
    assert bikes.duration_s == pytest.approx(10.0, abs=0.05)
    carphone = probe(carphone_mp4)
    assert (carphone.width, carphone.height) == (176, 144)
    assert carphone.duration_s > 0


def test_it_rejects_a_missing_file(tmp_path):
    with pytest.raises(VideoNotFound, match="no such file"):
        probe(tmp_path / "nowhere.mp4")


def test_it_rejects_a_folder(tmp_path):
    with pytest.raises(VideoNotFound, match="not a regular file"):
        probe(tmp_path)


def test_it_rejects_an_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(NotAVideo, match="empty"):
        probe(path)


def test_it_rejects_a_text_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("Keep your elbow under the ball.\n" * 50)
    with pytest.raises(NotAVideo, match="text, not a video"):
        probe(path)


def test_it_rejects_random_bytes(tmp_path):
    with pytest.raises(NotAVideo, match="not a decodable video"):
        probe(random_bytes(tmp_path / "noise.mp4"))


@pytest.mark.parametrize("faststart", [True, False], ids=["index-first", "index-last"])
def test_it_rejects_an_mp4_cut_in_half(make_video, tmp_path, faststart):
    whole = make_video("whole.mp4", seconds=4, audio=True, faststart=faststart)
    with pytest.raises(TruncatedVideo, match="cut short"):
        probe(cut_in_half(whole, tmp_path / "half.mp4"))


def test_it_rejects_an_mp4_whose_recording_never_finished(make_video, tmp_path):
    whole = make_video("whole.mp4", seconds=3, faststart=False)
    with pytest.raises(TruncatedVideo, match="no index"):
        probe(without_index(whole, tmp_path / "unfinished.mp4"))


def test_it_rejects_a_matroska_file_cut_in_half(tmp_path):
    """No box sizes here: only decoding the tail shows that the frames are missing."""
    whole = write_matroska(tmp_path / "whole.mkv", seconds=4)
    assert probe(whole).duration_s == pytest.approx(4.0, abs=0.05)
    with pytest.raises(TruncatedVideo, match="decoding stops at"):
        probe(cut_in_half(whole, tmp_path / "half.mkv"))


def test_it_rejects_a_video_whose_data_is_damaged(make_video, tmp_path):
    whole = make_video("whole.mp4", seconds=4)
    with pytest.raises(TruncatedVideo, match="truncated"):
        probe(with_zeroed_tail(whole, tmp_path / "damaged.mp4"))


def test_it_accepts_the_path_as_a_string(make_video):
    path: Path = make_video("drill.mp4", seconds=1)
    assert probe(str(path)).frame_count == 25
