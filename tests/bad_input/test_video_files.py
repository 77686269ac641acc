"""Files that are not videos, or are crafted to be slow to decode, are refused within the probe's limits.

FFmpeg's own timeout only bounds waiting for network reads; these files are local and every byte
arrives at once, so what has to be bounded is the decoding: frame size, frames decoded, time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.jobs import run_chunk
from core.models import Job
from retrieval_backend.importing.probing import probe_videos, queue_probe_job
from retrieval_backend.models import Clip, Sport, Video
from retrieval_backend.video.errors import NotAVideo, SlowToDecode, TruncatedVideo
from retrieval_backend.video.probe import MAX_SIDE, probe
from retrieval_backend.video.synthetic import write_synthetic_video
from tests.bad_input import crafted_videos as crafted
from tests.conftest import ROOT
from tests.factories import SportFactory, VideoFactory
from tests.retrieval_backend.video_files import random_bytes


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("not-videos")
    good = write_synthetic_video(folder / "good.mp4", seconds=2)
    half = folder / "half.mp4"
    half.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (folder / "notes.mp4").write_text("Keep your elbow under the ball.\n" * 20)
    (folder / "empty.mp4").write_bytes(b"")
    random_bytes(folder / "noise.mp4", 50_000, seed=50)
    return {
        "good": good,
        "text": folder / "notes.mp4",
        "empty": folder / "empty.mp4",
        "noise": folder / "noise.mp4",
        "half": half,
        "png": crafted.still_image(folder / "photo.png"),
        "jpeg": crafted.still_image(folder / "photo.jpg", codec="mjpeg"),
        "wav": crafted.audio_only(folder / "sound.wav"),
        # Ten minutes of full HD after one keyframe: ~450 kB, minutes to decode in full.
        "sparse": crafted.one_keyframe_then_repeats(folder / "sparse.mp4", seconds=600),
        "wide": crafted.wide_video(folder / "wide.mp4", width=MAX_SIDE + 512),
        "stretched": crafted.stretched_timestamps(folder / "stretched.mkv", hours=48),
        "giant": crafted.giant_frames(folder / "giant.mp4", side=9000),
    }


NOT_VIDEOS = [
    ("text", NotAVideo, "text, not a video"),
    ("empty", NotAVideo, "empty (0 bytes)"),
    ("noise", NotAVideo, "not a decodable video"),
    ("half", TruncatedVideo, "cut short"),
    ("png", NotAVideo, "still image (png), not a video"),
    ("jpeg", NotAVideo, "still image (mjpeg), not a video"),
    ("wav", NotAVideo, "no video stream"),
    ("wide", SlowToDecode, f"at most {MAX_SIDE} pixels a side"),
    ("stretched", NotAVideo, "more than 24 hours"),
    ("giant", NotAVideo, f"larger than {MAX_SIDE}x{MAX_SIDE} pixels"),
]


@pytest.mark.parametrize(("name", "error", "message"), NOT_VIDEOS, ids=[n for n, _, _ in NOT_VIDEOS])
def test_a_file_that_is_no_usable_video_is_refused_with_its_reason(files, name, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")) as refused:
        probe(files[name])
    assert str(files[name]) in str(refused.value)


def test_a_video_with_one_keyframe_and_minutes_of_frames_is_refused_after_a_bounded_decode(files):
    """Without a bound the probe would decode all 15,000 full-HD frames to check the last second."""
    with pytest.raises(SlowToDecode, match="too few keyframes") as refused:
        probe(files["sparse"])
    assert "re-encode it with a keyframe every few seconds" in str(refused.value)


def test_decoding_stops_at_the_probe_time_limit(files):
    """The same file under a 0.2 s limit: refused for time, long before the frame budget runs out."""
    with pytest.raises(SlowToDecode, match=r"longer than the probe's time limit of 0\.2 s"):
        probe(files["sparse"], timeout_s=0.2)


def _peak_rss_mb(path: Path) -> tuple[float, str]:
    """Probe ``path`` in a fresh process; its peak resident memory (MB) and what it printed."""
    code = textwrap.dedent(
        f"""
        from retrieval_backend.video.probe import probe
        try:
            print(probe({str(path)!r}))
        except Exception as exc:
            print(type(exc).__name__, exc)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode()
    _, _, usage = os.wait4(process.pid, 0)
    process.stdout.close()
    return usage.ru_maxrss / 1024, output


def test_frames_too_large_to_decode_are_refused_before_they_are_allocated(files):
    """9000x9000 grey frames are 81 MB each once decoded; refusing them must not decode one."""
    baseline, output = _peak_rss_mb(files["good"])
    assert "VideoInfo(" in output
    peak, output = _peak_rss_mb(files["giant"])
    assert "NotAVideo" in output
    assert peak - baseline < 40, f"probing the giant frames peaked at {peak:.0f} MB, a normal video at {baseline:.0f}"


@pytest.mark.django_db
def test_a_gallery_naming_such_files_reports_each_one_and_imports_nothing(files, tmp_path, settings):
    settings.VIDEO_PROBE_TIMEOUT_S = 1
    names = ["good", *(name for name, _, _ in NOT_VIDEOS), "sparse"]
    manifest = tmp_path / "gallery.jsonl"
    manifest.write_text(
        "".join(
            f'{{"video": "{files[name]}", "sport": "golf", "clips": '
            f'[{{"id": "{name}-1", "start": 0.1, "end": 0.9, "narration": "n"}}]}}\n'
            for name in names
        )
    )
    with pytest.raises(CommandError) as refused:
        call_command("import_gallery", str(manifest), "--no-progress", stdout=StringIO(), stderr=StringIO())
    message = str(refused.value)
    assert "nothing was imported" in message
    for number, name in enumerate(names, start=1):
        if name == "good":
            assert f"\n{number}: " not in message
        else:
            assert f"\n{number}: video: " in message, name
    assert f"{len(names) - 1} problem(s) on {len(names) - 1} line(s)" in message
    assert (Video.objects.count(), Clip.objects.count(), Sport.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
def test_probing_on_workers_marks_such_files_failed_with_the_reason(files, settings):
    """``--probe async`` imports first and probes in a Celery chunk: the same limits apply there."""
    settings.VIDEO_PROBE_TIMEOUT_S = 1
    sport = SportFactory(slug="golf", name="Golf")
    videos = {name: VideoFactory(sport=sport, source_uri=str(files[name])) for name in ("good", "sparse", "png")}
    job = queue_probe_job([v.pk for v in videos.values()])
    for chunk in job.chunks.all():
        assert run_chunk(chunk.pk, probe_videos) == "done"
    job.refresh_from_db()
    assert (job.status, job.error_count) == (Job.Status.DONE, 2)
    status = {name: Video.objects.get(pk=v.pk) for name, v in videos.items()}
    assert status["good"].probe_status == Video.ProbeStatus.OK
    assert status["sparse"].probe_status == Video.ProbeStatus.FAILED
    assert "re-encode" in status["sparse"].probe_error
    assert "still image" in status["png"].probe_error
