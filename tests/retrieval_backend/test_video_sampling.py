"""Frame sampling: the right frames, from one seek, and no silent acceptance of a truncated file."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from retrieval_backend.video.errors import TruncatedVideo, VideoError
from retrieval_backend.video.sampling import decode_segment, sample_frames, sample_frames_with_stats, sample_times
from retrieval_backend.video.segment import open_video
from retrieval_backend.video.synthetic import frame_code, read_frame_code, write_synthetic_video
from tests.retrieval_backend.video_files import cut_in_half, with_zeroed_tail, write_matroska, write_phone_portrait

FPS = 25
WIDTH, HEIGHT = 320, 96


@pytest.fixture(scope="module")
def coded_video(tmp_path_factory):
    """12 s at 25 fps whose frames show their index; keyframes every 2 s as in camera footage."""
    return write_synthetic_video(
        tmp_path_factory.mktemp("sampling") / "coded.mp4",
        seconds=12,
        fps=FPS,
        width=WIDTH,
        height=HEIGHT,
        draw=frame_code(WIDTH, HEIGHT),
        keyframe_interval_s=2.0,
    )


def nearest_indices(start_s: float, end_s: float, n: int) -> list[int]:
    # A target halfway between two frames gets the later one.
    return [math.floor(t * FPS + 0.5) for t in sample_times(start_s, end_s, n)]


@pytest.mark.parametrize(
    ("start_s", "end_s", "n"),
    [(2.0, 6.0, 16), (0.0, 12.0, 10), (3.3, 7.9, 5), (10.5, 12.0, 3), (5.0, 5.5, 1)],
)
def test_it_returns_the_frame_nearest_each_target_time(coded_video, start_s, end_s, n):
    frames = sample_frames(coded_video, start_s, end_s, n)
    assert frames.shape == (n, HEIGHT, WIDTH, 3)
    assert frames.dtype == np.uint8
    assert [read_frame_code(frame) for frame in frames] == nearest_indices(start_s, end_s, n)


@pytest.mark.parametrize("threads", [1, 3])
def test_a_set_decoder_thread_count_is_used_and_gives_the_same_frames(coded_video, settings, threads):
    # GPU workers run a process per core with VIDEO_DECODE_THREADS=1 (platform/DEPLOY.md).
    default = sample_frames(coded_video, 3.3, 7.9, 6)
    settings.VIDEO_DECODE_THREADS = threads
    with open_video(coded_video) as source:
        assert source.video.codec_context.thread_count == threads
    np.testing.assert_array_equal(sample_frames(coded_video, 3.3, 7.9, 6), default)


def test_it_spreads_the_targets_over_the_segment():
    assert sample_times(2.0, 6.0, 4).tolist() == [2.5, 3.5, 4.5, 5.5]


def test_it_resizes_to_the_requested_width_and_height(coded_video):
    frames = sample_frames(coded_video, 2.0, 6.0, 4, size=(160, 48))
    assert frames.shape == (4, 48, 160, 3)
    assert [read_frame_code(frame) for frame in frames] == nearest_indices(2.0, 6.0, 4)


def test_it_returns_rgb(make_video):
    red = make_video("red.mp4", seconds=1, draw=lambda i, t: np.full((120, 160, 3), (220, 20, 20), np.uint8))
    frame = sample_frames(red, 0.0, 1.0, 1)[0]
    red_level, green_level, blue_level = frame.reshape(-1, 3).mean(axis=0)
    assert red_level > 180
    assert green_level < 60
    assert blue_level < 60


def test_it_turns_phone_video_upright(tmp_path):
    portrait = write_phone_portrait(tmp_path / "phone.mp4")
    frames = sample_frames(portrait, 0.0, 2.0, 2)
    assert frames.shape == (2, 160, 96, 3)
    assert frames[0][-20:, :20].mean() > 200  # the marked corner, now bottom-left
    assert frames[0][:20, :20].mean() < 50
    resized = sample_frames(portrait, 0.0, 2.0, 2, size=(48, 80))
    assert resized.shape == (2, 80, 48, 3)
    assert resized[0][-8:, :8].mean() > 200


def test_it_seeks_once_and_decodes_from_the_keyframe_before_the_start(coded_video):
    frames, stats = sample_frames_with_stats(coded_video, 5.0, 9.0, 16)
    assert len(frames) == 16
    assert stats.seeks == 1
    assert stats.frames_in_segment == 4 * FPS
    # The keyframe before 5 s is at most 2 s earlier; nothing before it is decoded,
    # and decoding stops at the segment's end, not the file's.
    assert stats.first_time_s is not None
    assert 3.0 - 1 / FPS <= stats.first_time_s <= 5.0
    assert stats.frames_decoded <= (9.0 - 3.0) * FPS + 4
    assert not stats.reached_eof


def test_it_decodes_just_the_segment_when_asked(coded_video):
    assert decode_segment(coded_video, 2.0, 6.0) == 4 * FPS
    assert decode_segment(coded_video, 11.0, 12.0) == FPS


def test_it_samples_real_camera_footage(bikes_mp4):
    frames = sample_frames(bikes_mp4, 1.0, 9.0, 8, size=(224, 224))
    assert frames.shape == (8, 224, 224, 3)
    # The camera pans: consecutive samples differ.
    assert all(np.abs(a.astype(int) - b.astype(int)).mean() > 1 for a, b in itertools.pairwise(frames))


def test_it_detects_a_truncated_file_that_still_states_its_full_duration(tmp_path):
    whole = write_matroska(tmp_path / "whole.mkv", seconds=4)
    half = cut_in_half(whole, tmp_path / "half.mkv")
    assert len(sample_frames(whole, 0.5, 3.5, 4)) == 4
    with pytest.raises(TruncatedVideo, match="should hold 75 frames but"):
        sample_frames(half, 0.5, 3.5, 4)


def test_it_accepts_a_segment_before_the_cut_of_a_truncated_file(tmp_path):
    """Only missing frames are an error: the part that's there can still be used."""
    half = cut_in_half(write_matroska(tmp_path / "whole.mkv", seconds=4), tmp_path / "half.mkv")
    assert len(sample_frames(half, 0.2, 1.0, 4)) == 4


def test_it_detects_damaged_video_data(make_video, tmp_path):
    damaged = with_zeroed_tail(make_video("whole.mp4", seconds=4), tmp_path / "damaged.mp4")
    with pytest.raises(TruncatedVideo, match="truncated or damaged"):
        sample_frames(damaged, 0.5, 3.5, 4)


def test_it_detects_an_mp4_cut_in_half(make_video, tmp_path):
    half = cut_in_half(make_video("whole.mp4", seconds=4), tmp_path / "half.mp4")
    with pytest.raises(TruncatedVideo, match="cut short"):
        sample_frames(half, 0.5, 3.5, 4)


@pytest.mark.parametrize(
    ("start_s", "end_s", "message"),
    [
        (6.0, 6.0, "is not before its end"),
        (7.0, 6.0, "is not before its end"),
        (-1.0, 2.0, "negative"),
        (10.0, 14.0, "but the video lasts 12.000 s"),
        (float("nan"), 2.0, "must be numbers"),
        (5.0, 5.01, "shorter than one frame"),
        (11.99, 12.03, "starts at 11.990 s but the video lasts 12.000 s"),
    ],
)
def test_it_rejects_a_segment_the_video_cannot_supply(coded_video, start_s, end_s, message):
    with pytest.raises(VideoError, match=message):
        sample_frames(coded_video, start_s, end_s, 4)


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_it_rejects_a_frame_count_that_is_not_positive(coded_video, n):
    with pytest.raises(ValueError, match="positive integer"):
        sample_frames(coded_video, 1.0, 2.0, n)


def test_it_rejects_a_size_that_is_not_width_and_height(coded_video):
    with pytest.raises(ValueError, match="width, height"):
        sample_frames(coded_video, 1.0, 2.0, 2, size=(0, 10))
