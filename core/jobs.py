"""Chunked, resumable background jobs with progress.

A job is split into chunks (``JobChunk``) when it is created. Each chunk is one
Celery task that receives the chunk id, claims the row with a conditional update
and does its work; a chunk that is already done is never computed again. When
the last chunk finishes, an optional finalize task runs once (claimed the same
way). A worker killed mid-chunk leaves that chunk ``running``; ``resume_job``
puts such chunks back in the queue without touching the finished ones.

Per-item problems (one undecodable video among thousands) are returned by the
chunk's work as errors, recorded on the job, and the job carries on. An
exception raised by the work fails only that chunk; the job ends ``failed``
with a message saying how many chunks to resume.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TextIO

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from core.dispatch import send_on_commit
from core.models import Job, JobChunk

logger = logging.getLogger(__name__)

# Errors that say "the database is unreachable right now", worth retrying the chunk for.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


@dataclass
class ChunkResult:
    """What a chunk's work reports: items finished, and per-item errors as ``{"item": ..., "error": ...}``."""

    done: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


ChunkWork = Callable[[JobChunk], ChunkResult]


def create_chunked_job(
    kind: str,
    payloads: Iterable[dict[str, Any]],
    *,
    task: str,
    total: int,
    params: dict[str, Any] | None = None,
    finalize_task: str | None = None,
) -> Job:
    """Create a job with one chunk per payload and queue the chunks once the transaction commits.

    ``task`` and ``finalize_task`` are Celery task names; each is called with one
    argument, the chunk id (``task``) or the job id (``finalize_task``).
    """
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            total=total,
            params={**(params or {}), "task": task, "finalize_task": finalize_task},
        )
        batch: list[JobChunk] = []
        for index, payload in enumerate(payloads):
            batch.append(JobChunk(job=job, index=index, payload=payload))
            if len(batch) >= 1000:
                JobChunk.objects.bulk_create(batch)
                batch.clear()
        JobChunk.objects.bulk_create(batch)
        transaction.on_commit(lambda: enqueue_pending_chunks(job.pk))
    return job


def enqueue_pending_chunks(job_id: int) -> int:
    """Send one task per pending chunk; if there are none, finish the job now. Returns how many were sent."""
    job = Job.objects.get(pk=job_id)
    task = job.params["task"]
    sent = 0
    for chunk_id in job.chunks.filter(status=JobChunk.Status.PENDING).values_list("id", flat=True).iterator():
        send_on_commit(task, chunk_id)
        sent += 1
    if sent == 0:
        _maybe_complete(job_id)
    return sent


def run_chunk(chunk_id: int, work: ChunkWork) -> str:
    """Claim a chunk, run ``work`` on it and record the outcome. Returns what happened, for logs and tests.

    Safe to call twice for the same chunk (a redelivered message): only the
    caller that flips it from ``pending`` to ``running`` does the work.
    """
    now = timezone.now()
    claimed = JobChunk.objects.filter(id=chunk_id, status=JobChunk.Status.PENDING).update(
        status=JobChunk.Status.RUNNING, attempts=F("attempts") + 1, started=now, error=""
    )
    if claimed != 1:
        return "skipped"
    chunk = JobChunk.objects.select_related("job").get(id=chunk_id)
    job = chunk.job
    if job.status == Job.Status.CANCELLED:
        JobChunk.objects.filter(id=chunk_id).update(status=JobChunk.Status.PENDING, started=None)
        return "cancelled"
    Job.objects.filter(id=job.pk, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING, started=now)
    try:
        result = work(chunk)
    except TRANSIENT_ERRORS:
        # Hand the chunk back so the task's retry can claim it again.
        _release(chunk_id)
        raise
    except Exception as exc:
        logger.exception("chunk %s of job %s failed", chunk.index, job.pk)
        _finish_chunk(chunk, JobChunk.Status.FAILED, ChunkResult(), error=_describe(exc))
        _maybe_complete(job.pk)
        return "failed"
    _finish_chunk(chunk, JobChunk.Status.DONE, result)
    _maybe_complete(job.pk)
    return "done"


def _release(chunk_id: int) -> None:
    try:
        JobChunk.objects.filter(id=chunk_id, status=JobChunk.Status.RUNNING).update(
            status=JobChunk.Status.PENDING, started=None
        )
    except DatabaseError:
        logger.warning("could not release chunk %s; resume_job will", chunk_id)


def _finish_chunk(chunk: JobChunk, status: str, result: ChunkResult, error: str = "") -> None:
    with transaction.atomic():
        updated = JobChunk.objects.filter(id=chunk.pk, status=JobChunk.Status.RUNNING).update(
            status=status, finished=timezone.now(), error=error
        )
        if updated != 1:
            return  # resumed by someone else meanwhile; their run counts
        errors = list(result.errors)
        if error:
            errors.append({"item": f"chunk {chunk.index}", "error": error})
        Job.objects.filter(id=chunk.job_id).update(
            done=F("done") + result.done, error_count=F("error_count") + len(errors)
        )
        if errors:
            _append_errors(chunk.job_id, errors)


def record_job_errors(job_id: int, errors: list[dict[str, Any]]) -> None:
    """Record per-item errors found outside a chunk (by a finalize step, say)."""
    if not errors:
        return
    with transaction.atomic():
        Job.objects.filter(id=job_id).update(error_count=F("error_count") + len(errors))
        _append_errors(job_id, errors)


def _append_errors(job_id: int, errors: list[dict[str, Any]]) -> None:
    job = Job.objects.select_for_update().only("errors").get(id=job_id)
    room = Job.MAX_STORED_ERRORS - len(job.errors)
    if room > 0:
        job.errors = [*job.errors, *errors[:room]]
        job.save(update_fields=["errors"])


def _maybe_complete(job_id: int) -> None:
    """After a chunk ends: if none is left pending or running, finalize or finish the job (once)."""
    open_statuses = [JobChunk.Status.PENDING, JobChunk.Status.RUNNING]
    if JobChunk.objects.filter(job_id=job_id, status__in=open_statuses).exists():
        return
    job = Job.objects.get(id=job_id)
    failed = job.chunks.filter(status=JobChunk.Status.FAILED).count()
    active = [Job.Status.QUEUED, Job.Status.RUNNING]
    if failed:
        Job.objects.filter(id=job_id, status__in=active).update(
            status=Job.Status.FAILED,
            finished=timezone.now(),
            message=f"{failed} chunk(s) failed; see the errors, fix the cause and resume the job.",
        )
        return
    finalize = job.params.get("finalize_task")
    if finalize:
        if Job.objects.filter(id=job_id, status__in=active).update(status=Job.Status.FINALIZING) == 1:
            send_on_commit(finalize, job_id)
        return
    Job.objects.filter(id=job_id, status__in=active).update(status=Job.Status.DONE, finished=timezone.now())


def finish_job(job_id: int, *, message: str = "") -> None:
    """Mark a finalizing job done; called by finalize tasks when their last step succeeded."""
    Job.objects.filter(id=job_id).exclude(status=Job.Status.CANCELLED).update(
        status=Job.Status.DONE, finished=timezone.now(), message=message
    )


def fail_job(job_id: int, message: str) -> None:
    Job.objects.filter(id=job_id).exclude(status=Job.Status.CANCELLED).update(
        status=Job.Status.FAILED, finished=timezone.now(), message=message
    )


def requeue_stalled_chunks(*, now=None, grace_s: float = 300.0) -> int:
    """Queue again the chunks whose worker died: ``running`` for longer than any task may run.

    Celery kills a task at ``CELERY_TASK_TIME_LIMIT``, so a chunk still marked
    running well past it has lost its worker (SIGKILL, a lost machine); the
    broker's redelivered message would be skipped, as the chunk is not pending.
    Run by beat every few minutes. Returns the number of chunks queued again.
    """
    now = now or timezone.now()
    limit_s = float(settings.CELERY_TASK_TIME_LIMIT) + grace_s
    cutoff = now - timedelta(seconds=limit_s)
    stalled = JobChunk.objects.filter(
        status=JobChunk.Status.RUNNING,
        started__lt=cutoff,
        job__status__in=[Job.Status.QUEUED, Job.Status.RUNNING],
    )
    queued = 0
    for chunk_id, task in stalled.values_list("id", "job__params__task").iterator():
        if not task:
            continue
        # The status guard makes this a no-op when the chunk finished between the read and the update.
        if JobChunk.objects.filter(id=chunk_id, status=JobChunk.Status.RUNNING, started__lt=cutoff).update(
            status=JobChunk.Status.PENDING, started=None
        ):
            logger.warning("chunk %s ran for over %.0f s: its worker is gone; queued again", chunk_id, limit_s)
            send_on_commit(task, chunk_id)
            queued += 1
    return queued


class JobNotResumable(Exception):
    """A job that ``resume_job`` cannot restart; the message says what to do instead."""


def resume_job(job: Job, *, include_running: bool = True) -> int:
    """Queue again every chunk that did not finish: failed ones, and ``running`` ones of dead workers.

    Only resume running chunks when their worker is gone (killed, machine lost):
    a live worker would otherwise compute the same chunk twice. Finished chunks
    are never touched. A job stuck finalizing is finalized again. A job done by
    one task (``params`` name its ``task`` and ``task_args``, as an export's do)
    has that task sent again. Returns the number of chunks (or tasks) queued.
    """
    if job.status == Job.Status.DONE:
        return 0
    if "task_args" in job.params:
        return _resend_single_task(job)
    if "task" not in job.params:
        raise JobNotResumable(f"job {job.pk} ({job.kind}) has no chunks and no task to send again; start it anew.")
    statuses = [JobChunk.Status.FAILED] + ([JobChunk.Status.RUNNING] if include_running else [])
    with transaction.atomic():
        reset = job.chunks.filter(status__in=statuses).update(status=JobChunk.Status.PENDING, started=None)
        pending = job.chunks.filter(status=JobChunk.Status.PENDING).exists()
        finalize = job.params.get("finalize_task")
        if not pending and finalize and job.status in {Job.Status.FINALIZING, Job.Status.FAILED}:
            Job.objects.filter(id=job.pk).update(status=Job.Status.FINALIZING, finished=None, message="")
            send_on_commit(finalize, job.pk)
            return 0
        Job.objects.filter(id=job.pk).update(status=Job.Status.RUNNING, finished=None, message="")
        transaction.on_commit(lambda: enqueue_pending_chunks(job.pk))
    return reset


def _resend_single_task(job: Job) -> int:
    """Send a one-task job's task again; the task's own claim decides what is redone (a whole export, say)."""
    task, args = job.params.get("task"), job.params.get("task_args")
    if not task or not isinstance(args, list):
        raise JobNotResumable(f"job {job.pk} ({job.kind}) does not say which task to send again; start it anew.")
    with transaction.atomic():
        Job.objects.filter(id=job.pk).update(status=Job.Status.QUEUED, finished=None, message="")
        send_on_commit(task, *args)
    return 1


# Sent with ``job`` (the row as cancelled) once a job is cancelled, by the API or ``cancel_job``. The app
# that started the job frees what only its pending chunks would have used (an import's uploaded file),
# without core knowing what that is.
job_cancelled = Signal()


def cancel_job(job: Job) -> bool:
    """Stop a job: chunks not yet started are skipped. A chunk already running finishes its work."""
    cancelled = (
        Job.objects.filter(id=job.pk)
        .exclude(status__in=[Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED])
        .update(status=Job.Status.CANCELLED, finished=timezone.now(), message="cancelled")
        == 1
    )
    if cancelled:
        job_cancelled.send(sender=Job, job=Job.objects.get(pk=job.pk))
    return cancelled


NO_WORKER_HINT_S = 30.0


def follow_job(
    job: Job,
    out: TextIO,
    *,
    progress: bool = True,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
    hint_after_s: float = NO_WORKER_HINT_S,
) -> Job:
    """Wait for a job to end, drawing a progress bar on ``out``; returns the final job row.

    A job that no worker has touched after ``hint_after_s`` gets one line saying what to start.
    """
    from tqdm import tqdm

    started = time.monotonic()
    hinted = False
    with tqdm(total=job.total or None, disable=not progress, file=out, unit="item", desc=job.kind) as bar:
        while True:
            job.refresh_from_db()
            bar.total = job.total or None
            bar.n = job.done
            bar.set_postfix_str(f"{job.status}, {job.error_count} errors", refresh=False)
            bar.refresh()
            if job.is_finished:
                return job
            waited = time.monotonic() - started
            if not hinted and waited >= hint_after_s and _untouched(job):
                hinted = True
                bar.write(
                    f"job {job.pk} is still queued after {waited:.0f} s: no worker has taken it. Is a Celery worker "
                    "running against this database and broker? `make run` starts one; otherwise "
                    "`celery -A config worker -Q default,gpu,render`. The job waits and goes on once one runs.",
                    file=out,
                )
            if timeout_s is not None and waited > timeout_s:
                return job
            time.sleep(poll_s)


def _untouched(job: Job) -> bool:
    return job.status == Job.Status.QUEUED and not job.chunks.exclude(status=JobChunk.Status.PENDING).exists()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
