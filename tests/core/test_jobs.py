"""Chunked jobs: each chunk claimed once, errors recorded, failures resumable, finalize once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.jobs import (
    ChunkResult,
    cancel_job,
    create_chunked_job,
    record_job_errors,
    requeue_stalled_chunks,
    resume_job,
    run_chunk,
)
from core.models import Job, JobChunk

pytestmark = pytest.mark.django_db


def _job(n_chunks: int = 3, finalize: str | None = None) -> Job:
    return create_chunked_job(
        "test",
        ({"items": [i * 10 + j for j in range(10)]} for i in range(n_chunks)),
        task="retrieval_backend.tasks.nothing",
        total=10 * n_chunks,
        finalize_task=finalize,
    )


def _all_done(chunk: JobChunk) -> ChunkResult:
    return ChunkResult(done=len(chunk.payload["items"]))


def test_it_creates_one_chunk_per_payload_and_queues_them_on_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = _job(4)
    assert len(callbacks) == 1
    assert list(job.chunks.values_list("index", "status")) == [(i, "pending") for i in range(4)]
    assert (job.status, job.total, job.done) == ("queued", 40, 0)


def test_a_chunk_is_computed_once_even_when_its_message_arrives_twice():
    job = _job(2)
    chunk = job.chunks.first()
    calls = []

    def work(c: JobChunk) -> ChunkResult:
        calls.append(c.index)
        return _all_done(c)

    assert run_chunk(chunk.id, work) == "done"
    assert run_chunk(chunk.id, work) == "skipped"
    assert calls == [0]
    job.refresh_from_db()
    assert (job.status, job.done) == ("running", 10)


def test_the_job_is_done_when_its_last_chunk_finishes():
    job = _job(3)
    for chunk in job.chunks.all():
        run_chunk(chunk.id, _all_done)
    job.refresh_from_db()
    assert (job.status, job.done, job.percent) == ("done", 30, 100)
    assert job.finished is not None


def test_per_item_errors_are_recorded_and_the_job_carries_on():
    job = _job(2)

    def work(chunk: JobChunk) -> ChunkResult:
        items = chunk.payload["items"]
        return ChunkResult(done=len(items) - 1, errors=[{"item": items[0], "error": "video is truncated"}])

    for chunk in job.chunks.all():
        run_chunk(chunk.id, work)
    job.refresh_from_db()
    assert job.status == "done"
    assert job.done == 18
    assert job.error_count == 2
    assert job.errors == [{"item": 0, "error": "video is truncated"}, {"item": 10, "error": "video is truncated"}]


def test_stored_errors_are_capped_but_all_are_counted(monkeypatch):
    monkeypatch.setattr(Job, "MAX_STORED_ERRORS", 5)
    job = _job(1)
    errors = [{"item": i, "error": "bad"} for i in range(8)]
    run_chunk(job.chunks.get().id, lambda c: ChunkResult(done=2, errors=errors))
    record_job_errors(job.id, [{"item": "late", "error": "bad"}])
    job.refresh_from_db()
    assert job.error_count == 9
    assert len(job.errors) == 5


def test_a_chunk_that_raises_fails_the_job_with_a_message_and_resume_redoes_only_it(
    django_capture_on_commit_callbacks,
):
    job = _job(3)
    chunks = list(job.chunks.all())
    run_chunk(chunks[0].id, _all_done)

    def broken(chunk: JobChunk) -> ChunkResult:
        raise RuntimeError("model file missing")

    assert run_chunk(chunks[1].id, broken) == "failed"
    run_chunk(chunks[2].id, _all_done)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "1 chunk(s) failed" in job.message
    assert job.errors[-1] == {"item": "chunk 1", "error": "RuntimeError: model file missing"}

    with django_capture_on_commit_callbacks(execute=False):
        assert resume_job(job) == 1
    job.refresh_from_db()
    assert job.status == "running"
    statuses = dict(job.chunks.values_list("index", "status"))
    assert statuses == {0: "done", 1: "pending", 2: "done"}
    run_chunk(chunks[1].id, _all_done)
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 30)
    assert dict(job.chunks.values_list("index", "attempts")) == {0: 1, 1: 2, 2: 1}


def test_resume_requeues_a_running_chunk_left_by_a_dead_worker(django_capture_on_commit_callbacks):
    job = _job(2)
    first, second = job.chunks.all()
    run_chunk(first.id, _all_done)
    # A worker claimed the second chunk and was killed before finishing.
    JobChunk.objects.filter(id=second.id).update(status="running")
    with django_capture_on_commit_callbacks(execute=False):
        assert resume_job(job, include_running=False) == 0
        assert resume_job(job) == 1
    run_chunk(second.id, _all_done)
    job.refresh_from_db()
    assert job.status == "done"
    assert JobChunk.objects.get(id=first.id).attempts == 1


def test_finalize_runs_once_after_the_last_chunk(django_capture_on_commit_callbacks):
    job = _job(2, finalize="retrieval_backend.tasks.finish_nothing")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for chunk in job.chunks.all():
            run_chunk(chunk.id, _all_done)
    job.refresh_from_db()
    assert job.status == "finalizing"
    assert not job.is_finished
    assert len(callbacks) == 1


def test_cancelled_jobs_skip_their_pending_chunks():
    job = _job(2)
    assert cancel_job(job)
    assert not cancel_job(job)
    calls = []
    assert run_chunk(job.chunks.first().id, lambda c: calls.append(c) or ChunkResult()) == "cancelled"
    assert calls == []
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_a_job_with_no_chunks_finishes_at_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = create_chunked_job("empty", [], task="retrieval_backend.tasks.nothing", total=0)
    job.refresh_from_db()
    assert job.status == "done"


def test_a_chunk_running_past_the_task_time_limit_is_queued_again_by_the_watchdog(settings):
    """A SIGKILLed worker leaves its chunk 'running'; the redelivered message would be skipped without this."""
    job = _job(3)
    dead, alive, finished = job.chunks.all()
    now = timezone.now()
    long_ago = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 600)
    JobChunk.objects.filter(id=dead.id).update(status="running", started=long_ago)
    JobChunk.objects.filter(id=alive.id).update(status="running", started=now - timedelta(seconds=30))
    run_chunk(finished.id, _all_done)
    cancelled = _job(1)
    cancel_job(cancelled)
    JobChunk.objects.filter(job=cancelled).update(status="running", started=long_ago)

    assert requeue_stalled_chunks(now=now) == 1
    statuses = dict(JobChunk.objects.values_list("id", "status"))
    assert statuses[dead.id] == "pending"
    assert statuses[alive.id] == "running"  # its worker may well be at work: left alone
    assert statuses[finished.id] == "done"
    assert set(JobChunk.objects.filter(job=cancelled).values_list("status", flat=True)) == {"running"}
    # The message sent for it is claimed by the next worker that reads it, exactly once.
    assert run_chunk(dead.id, _all_done) == "done"
    assert run_chunk(dead.id, _all_done) == "skipped"
    assert requeue_stalled_chunks(now=now) == 0


def test_following_a_job_no_worker_takes_says_what_to_start():
    from io import StringIO

    from core.jobs import follow_job

    job = _job()
    out = StringIO()
    follow_job(job, out, progress=False, poll_s=0.01, timeout_s=0.3, hint_after_s=0.05)
    said = out.getvalue()
    assert f"job {job.pk} is still queued after 0 s: no worker has taken it." in said
    assert "celery -A config worker -Q default,gpu,render" in said
    assert said.count("no worker has taken it") == 1  # said once, not at every poll

    # A job a worker has started is just slow: no hint.
    busy = _job()
    JobChunk.objects.filter(job=busy, index=0).update(status=JobChunk.Status.RUNNING)
    out = StringIO()
    follow_job(busy, out, progress=False, poll_s=0.01, timeout_s=0.2, hint_after_s=0.05)
    assert "no worker" not in out.getvalue()
