"""Probing: what a gallery import learns about a video, and the errors it reports for bad files."""

from __future__ import annotations

import hashlib
import pickle
import random
from pathlib import Path

import pytest

from retrieval_backend.video.errors import NotAVideo, TruncatedVideo, VideoNotFound
from retrieval_backend.video.probe import probe
from retrieval_backend.video.segment import open_video, segment_frames
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


# Noise that FFmpeg (PyAV 18) reads each its own way; the seeds were found by probing thousands.
# Another FFmpeg may read some of them differently, which is the point: the answer must not change.
NOISE_SEEDS = {
    0: "invalid data",
    1512: "a subtitle track (lrc), no video stream",
    1713: "an H.263 stream with no frame size",
    1936: "an H.263 stream with no frame rate or duration",
    2700: "metadata that is not UTF-8",
    30505: "a format FFmpeg has not implemented",
    31084: "a still image (pictor)",
}


def _crafted_junk(folder: Path, make_video) -> dict[str, Path]:
    mp4 = make_video("whole.mp4", seconds=1).read_bytes()
    files = {
        "empty": b"",
        "text": b"Keep your elbow under the ball.\n" * 40,
        "one byte": b"\x00",
        # The first box header of a real MP4 and nothing after it: a download that stopped at once.
        "mp4 header only": mp4[:8],
        # A whole ftyp box, then noise where the index and media should be.
        "mp4 header then noise": mp4[:32] + random.Random(1).randbytes(4000),
    }
    for name, data in files.items():
        (folder / f"{name}.mp4").write_bytes(data)
    return {name: folder / f"{name}.mp4" for name in files}


def _assert_not_a_decodable_video(path: Path) -> None:
    with pytest.raises(NotAVideo) as refused:
        probe(path)
    message = str(refused.value)
    assert message.startswith(f"{path} is not a decodable video (")
    # Then what FFmpeg made of it, in parentheses, and what to do about it.
    assert message.endswith(f"): {refused.value.fix}")
    assert refused.value.fix.startswith(("re-encode it", "copy", "check"))
    # The sampler and the renderer open files through the same checks.
    with pytest.raises(NotAVideo, match="is not a decodable video"), open_video(path) as opened:
        list(segment_frames(opened, 0.0, 1.0))


@pytest.mark.parametrize("seed", NOISE_SEEDS, ids=NOISE_SEEDS.values())
def test_noise_is_not_a_decodable_video_whatever_ffmpeg_makes_of_it(tmp_path, seed):
    _assert_not_a_decodable_video(random_bytes(tmp_path / "noise.mp4", seed=seed))


def test_crafted_files_that_are_no_video_get_the_same_answer(tmp_path, make_video):
    for path in _crafted_junk(tmp_path, make_video).values():
        _assert_not_a_decodable_video(path)


def test_the_refusal_survives_pickling_as_a_worker_sends_it(tmp_path):
    with pytest.raises(NotAVideo) as refused:
        probe(random_bytes(tmp_path / "noise.mp4", seed=1512))
    copy = pickle.loads(pickle.dumps(refused.value))
    assert (type(copy), str(copy)) == (NotAVideo, str(refused.value))


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
