"""Uploaded manifests imported by a worker: the one-chunk job, its chunk's work, and the upload's clean-up.

``retrieval_backend.tasks.import_manifest_chunk`` runs ``import_chunk`` through
the job runner; the API only queues the job. Every manifest kind goes the same
way: the chunk carries the kind and the request's options, and the kind's
importer does the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from core.jobs import ChunkResult, create_chunked_job, fail_job, record_job_errors
from core.models import Job, JobChunk
from retrieval_backend.importing.importer import ImportFailed
from retrieval_backend.importing.report import IssueLog
from retrieval_backend.importing.uploaded import (
    IMPORTERS,
    ManifestRequest,
    failure_summary,
    nothing_imported,
    problems,
    result_body,
    run_import,
)
from retrieval_backend.importing.videos import ProbeMode

IMPORT_TASK = "retrieval_backend.tasks.import_manifest_chunk"
IMPORT_JOB_KINDS = frozenset(f"import_{kind}" for kind in IMPORTERS)


def queue_import_job(path: Path, lines: int, request: ManifestRequest) -> Job:
    """A one-chunk job that imports the uploaded file on a worker (queued when the transaction commits)."""
    return create_chunked_job(
        request.job_kind,
        [{"upload": str(path), **request.as_params(), "kind": request.kind}],
        task=IMPORT_TASK,
        total=lines,
        params={**request.as_params(), "upload": str(path), "lines": lines},
    )


def discard_unread_upload(job: Job) -> None:
    """After a cancel: remove the uploaded file of an import job whose chunk never started.

    A chunk claimed after the cancel sees the job cancelled and does no work, so
    nothing will read the file; a chunk already running keeps its file.
    """
    if job.kind not in IMPORT_JOB_KINDS or job.status != Job.Status.CANCELLED:
        return
    for payload in job.chunks.filter(status=JobChunk.Status.PENDING).values_list("payload", flat=True):
        upload = (payload or {}).get("upload")
        if upload:
            Path(upload).unlink(missing_ok=True)


def import_chunk(chunk: JobChunk) -> ChunkResult:
    """The worker's side: import the uploaded manifest, record its problems by line, remove the upload.

    A manifest with problems fails the job with a message saying so; its problems
    are the job's errors, each with its line and field. Running the chunk again
    (a resumed job) imports the same file again, which changes nothing the
    first run wrote.
    """
    path = Path(chunk.payload["upload"])
    if not path.is_file():
        fail_job(chunk.job_id, "the uploaded manifest is gone from the server (cleaned up?); upload it again.")
        return ChunkResult()
    request = ManifestRequest.from_payload(chunk.payload)
    lines = chunk.job.total if chunk.job_id else 0
    checking = "checking and probing the videos" if request.probe == ProbeMode.SYNC else "checking"

    def show_progress(line: int, read: int, size: int) -> None:
        # The job's message, which the admin and GET /api/v1/jobs/ID/ show; `done` moves when the import ends.
        Job.objects.filter(pk=chunk.job_id, status=Job.Status.RUNNING).update(
            message=f"{checking}: line {line:,} of {lines:,} ({100 * read // max(size, 1)}% of the file)"
        )

    try:
        importer, result = run_import(path, request, on_check_progress=show_progress)
    except SoftTimeLimitExceeded:
        # Nothing was written (the write pass is one transaction); a rerun would hit the same limit.
        fail_job(
            chunk.job_id,
            "the import ran past the worker's time limit (CELERY_TASK_SOFT_TIME_LIMIT_S) and nothing was imported: "
            "send it with probe=async (videos are then probed by many small tasks) or split the manifest.",
        )
        path.unlink(missing_ok=True)
        return ChunkResult()
    except ImportFailed as exc:
        if exc.issues:
            record_job_errors(chunk.job_id, _job_errors(exc.issues))
            # Only the first problems are stored; the count is of all of them.
            Job.objects.filter(pk=chunk.job_id).update(error_count=len(exc.issues))
            fail_job(chunk.job_id, failure_summary(exc.issues))
        else:
            fail_job(chunk.job_id, str(exc))
        path.unlink(missing_ok=True)
        return ChunkResult()
    empty = nothing_imported(importer, result)
    if empty:
        fail_job(chunk.job_id, empty)
        path.unlink(missing_ok=True)
        return ChunkResult()
    job = Job.objects.get(pk=chunk.job_id)
    counts = ", ".join(f"{n:,} {what}" for what, n in result.counts.items() if n)
    Job.objects.filter(pk=job.pk).update(
        params={**job.params, "result": result_body(importer, result)},
        message=f"imported: {counts or 'nothing new'}"
        + (f"; {result.rejected:,} line(s) rejected" if result.rejected else ""),
    )
    path.unlink(missing_ok=True)
    return ChunkResult(done=job.total, errors=_job_errors(importer.issues) if result.rejected else [])


def _job_errors(issues: IssueLog) -> list[dict[str, Any]]:
    return [
        {"item": f"line {p['line']}", "line": p["line"], "field": p["field"], "error": p["message"]}
        for p in problems(issues, limit=Job.MAX_STORED_ERRORS)
    ]
