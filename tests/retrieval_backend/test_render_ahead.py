"""Rendering clips ahead of time: ``render_clips`` makes a chunked job for the render queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.models import Job
from retrieval_backend.models import Clip, MistakeQuery, Sport, Video
from retrieval_backend.tasks import render_clips_chunk
from retrieval_backend.video.probe import probe
from retrieval_backend.video.render import rendered_path
from tests.conftest import wait_for
from tests.factories import ClipFactory, MistakeQueryFactory, SportFactory, VideoFactory


def _video(path: Path, sport: Sport) -> Video:
    info = probe(path)
    return VideoFactory(
        sport=sport,
        source_uri=str(path),
        sha256=info.sha256,
        duration_s=info.duration_s,
        fps=info.fps,
        width=info.width,
        height=info.height,
        codec=info.codec,
        has_audio=info.has_audio,
        probe_status=Video.ProbeStatus.OK,
    )


def _clip(video: Video, external_id: str, start_s: float, end_s: float) -> Clip:
    return ClipFactory(
        video=video,
        sport=video.sport,
        external_id=external_id,
        start_s=start_s,
        end_s=end_s,
        narration="Land softly, knees over toes.",
    )


def _cached(row: Clip | MistakeQuery, settings) -> Path:
    return rendered_path(settings.CLIP_CACHE_DIR, row.video.sha256, row.start_s, row.end_s)


@pytest.fixture
def gallery(make_video, bikes_mp4):
    """Two sports; basketball has three good clips (one from real footage), a broken one and a query."""
    basketball = SportFactory(slug="basketball", name="Basketball")
    tennis = SportFactory(slug="tennis", name="Tennis")
    synthetic = _video(make_video("drill.mp4", seconds=3, audio=True), basketball)
    real = _video(bikes_mp4, basketball)
    broken_path = make_video("broken.mp4", seconds=2)
    broken = _video(broken_path, basketball)
    broken_path.write_bytes(b"the disk ate this file")
    clips = [
        _clip(synthetic, "bb-1", 0.0, 1.0),
        _clip(synthetic, "bb-2", 1.0, 2.5),
        _clip(real, "bikes-1", 3.0, 5.0),
        _clip(broken, "bb-broken", 0.0, 1.0),
    ]
    query = MistakeQueryFactory(
        video=synthetic, sport=basketball, external_id="q-1", start_s=0.5, end_s=2.0, mistake="Elbow flares out."
    )
    other = _clip(_video(make_video("serve.mp4", seconds=2), tennis), "tn-1", 0.0, 1.0)
    return {"clips": clips, "query": query, "other_sport": other}


# --- the command's checks -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--sport SLUG"),
        (["--sport", "basketball", "--all"], "not both"),
        (["--all", "--chunk-size", "0"], "at least 1"),
        (["--sport", "curling"], "no sport with slug curling; known sports: basketball"),
    ],
)
def test_it_says_what_to_fix_on_bad_arguments(args, message):
    SportFactory(slug="basketball", name="Basketball")
    with pytest.raises(CommandError, match=message):
        call_command("render_clips", *args)
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_an_empty_selection_creates_no_job(capsys):
    SportFactory(slug="basketball", name="Basketball")
    call_command("render_clips", "--sport", "basketball", "--queries")
    assert "Nothing to render" in capsys.readouterr().out
    assert not Job.objects.exists()


# --- the chunks, run here -----------------------------------------------------------


@pytest.mark.django_db
def test_chunks_render_the_sport_and_record_each_broken_clip(gallery, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # no broker here: run the chunks by hand
        call_command("render_clips", "--sport", "basketball", "--queries", "--chunk-size", "2")
    job = Job.objects.get()
    assert (job.kind, job.total, job.params["clips"], job.params["queries"]) == ("render_clips", 5, 4, 1)
    assert job.chunks.count() == 3  # 4 clips in chunks of 2, then the query
    for chunk_id in job.chunks.values_list("id", flat=True):
        assert render_clips_chunk(chunk_id) == "done"

    job.refresh_from_db()
    assert job.status == Job.Status.DONE, "one broken video must not fail the job"
    assert (job.done, job.error_count) == (4, 1)
    assert job.errors[0]["item"] == "clip bb-broken"
    assert "rendering failed" in job.errors[0]["error"]
    good = [c for c in gallery["clips"] if c.external_id != "bb-broken"]
    assert all(_cached(c, settings).is_file() for c in good)
    assert _cached(gallery["query"], settings).is_file()
    assert not _cached(gallery["other_sport"], settings).exists()


@pytest.mark.django_db
def test_a_clip_deleted_after_queueing_counts_as_done(gallery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        call_command("render_clips", "--sport", "tennis")
    gallery["other_sport"].delete()
    job = Job.objects.get()
    render_clips_chunk(job.chunks.get().id)
    job.refresh_from_db()
    assert (job.status, job.done, job.error_count) == (Job.Status.DONE, 1, 0)


# --- a real worker on the render queue ------------------------------------------------


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)  # the worker must see the gallery, so it is committed
def test_a_render_worker_renders_the_gallery_ahead_of_time(celery_worker_factory, gallery, settings, capsys):
    celery_worker_factory(queues="render")  # only the render queue: the task must be routed there
    call_command("render_clips", "--all", "--queries", "--chunk-size", "3")
    assert "on the render queue" in capsys.readouterr().out
    job = Job.objects.get()
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout_s=180, what="the render job to finish")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert (job.total, job.done, job.error_count) == (6, 5, 1)
    assert [e["item"] for e in job.errors] == ["clip bb-broken"]
    for row in [*gallery["clips"][:3], gallery["query"], gallery["other_sport"]]:
        assert _cached(row, settings).is_file(), f"{row} was not rendered"
