"""Gallery and query manifests imported through the API: the commands' importers, inline or as a job.

The checks, the all-or-nothing rule and ``skip_invalid`` are those of
``import_gallery`` and ``import_queries`` (``retrieval_backend.importing``). What
differs is where the work runs. A small manifest that needs no probing here is
imported during the request: seconds at most. Anything bigger, or one asking for
``probe=sync`` (a probe can take seconds per video), is imported by a worker
from the uploaded file, and the request answers at once with the job to poll; a
web process is never held for minutes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from core.jobs import ChunkResult, create_chunked_job, fail_job, record_job_errors
from core.models import Job, JobChunk
from retrieval_backend.candidates.importing import ImportReport, import_candidates
from retrieval_backend.importing.gallery import GalleryImport
from retrieval_backend.importing.importer import ImportFailed, ImportOptions, ImportResult, ManifestImport
from retrieval_backend.importing.locations import LocationError, VideoLocation, VideoLocator
from retrieval_backend.importing.queries import QueryImport
from retrieval_backend.importing.report import SHOWN_ISSUES, IssueLog
from retrieval_backend.importing.videos import ProbeMode

# Inline imports: up to this many bytes (about 3,500 clips: a few seconds at most) and no probing in the request.
INLINE_MAX_BYTES = 512 << 10
IMPORT_TASK = "retrieval_backend.tasks.import_manifest_chunk"
IMPORTERS: dict[str, type[ManifestImport]] = {"gallery": GalleryImport, "queries": QueryImport}
JOB_KINDS = {"gallery": "import_gallery", "queries": "import_queries", "candidates": "import_candidates"}
NO_CANDIDATES = "the file holds no candidate lines; nothing was imported."
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass
class ManifestRequest:
    """What the researcher asked for: which manifest, how to probe, whether to skip bad lines, where paths start."""

    kind: str
    probe: str = ProbeMode.SYNC
    skip_invalid: bool = False
    base_dir: str | None = None
    # Candidate files only: create the methods they name that do not exist yet.
    create_methods: bool = False

    def as_params(self) -> dict[str, Any]:
        if self.kind == "candidates":
            return {"create_methods": self.create_methods}
        return {"probe": self.probe, "skip_invalid": self.skip_invalid, "base_dir": self.base_dir}


class _UploadLocator(VideoLocator):
    """Video paths of an uploaded manifest: absolute, URLs, or relative to the ``base_dir`` the request named.

    An uploaded manifest has no folder of its own, so a relative path without
    ``base_dir`` is an error rather than a path into the upload folder.
    """

    def __init__(self, base_dir: str | None, allowed_roots: list[Path], allowed_url_prefixes: list[str]) -> None:
        super().__init__(Path(base_dir or "/"), allowed_roots, allowed_url_prefixes)
        self.has_base_dir = base_dir is not None

    def locate(self, value: str) -> VideoLocation:
        if not self.has_base_dir and not _URL.match(value) and not os.path.isabs(value):
            raise LocationError(
                f"{value[:60]!r} is a relative path, and an uploaded manifest has no folder: pass "
                "base_dir=/the/folder/it/is/relative/to, or write absolute paths or http(s) URLs"
            )
        return super().locate(value)


def runs_inline(size: int, request: ManifestRequest) -> bool:
    probing = request.kind != "candidates" and request.probe == ProbeMode.SYNC
    return not probing and size <= INLINE_MAX_BYTES


def prechecks_inline(size: int, request: ManifestRequest) -> bool:
    """A small manifest left to a worker for probing is checked here first, so its line problems come back now."""
    return request.kind != "candidates" and not request.skip_invalid and size <= INLINE_MAX_BYTES


def precheck(path: Path, request: ManifestRequest) -> IssueLog:
    """Every problem a line has without probing its video (fields, paths, duplicates); nothing is written."""
    return _importer(path, replace(request, probe=ProbeMode.NONE)).check()


def _importer(path: Path, request: ManifestRequest, on_check_progress=None) -> ManifestImport:
    options = ImportOptions(
        on_check_progress=on_check_progress,
        probe=request.probe,
        skip_invalid=request.skip_invalid,
        probe_timeout_s=float(settings.VIDEO_PROBE_TIMEOUT_S),
        allowed_roots=list(settings.VIDEO_ALLOWED_ROOTS),
        allowed_url_prefixes=list(settings.VIDEO_ALLOWED_URL_PREFIXES),
    )
    importer = IMPORTERS[request.kind](path, options)
    importer.locator = _UploadLocator(request.base_dir, options.allowed_roots, options.allowed_url_prefixes)
    return importer


def run_import(path: Path, request: ManifestRequest, on_check_progress=None) -> tuple[ManifestImport, ImportResult]:
    """Import the manifest at ``path`` as the command would; ``ImportFailed`` when nothing was imported."""
    importer = _importer(path, request, on_check_progress)
    try:
        result = importer.run()
    finally:
        # The command writes rejected lines next to the manifest; the API returns them in the response instead.
        rejected = path.with_name(f"{path.stem}.rejected{path.suffix or '.jsonl'}")
        rejected.unlink(missing_ok=True)
    return importer, result


def problems(issues: IssueLog | None, limit: int = SHOWN_ISSUES) -> list[dict[str, Any]]:
    """The first ``limit`` problems in file order, as ``{"line", "field", "message"}``."""
    found: list[dict[str, Any]] = []
    for issue in issues or ():
        if len(found) == limit:
            break
        found.append({"line": issue.line, "field": issue.field, "message": issue.message})
    return found


def by_line(found: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Problems grouped by line, as the API's error format has them: ``{"12": ["clips[0].end: ..."]}``."""
    grouped: dict[str, list[str]] = {}
    for problem in found:
        grouped.setdefault(str(problem["line"]), []).append(f"{problem['field']}: {problem['message']}")
    return grouped


def failure_summary(issues: IssueLog) -> str:
    return (
        f"{len(issues)} problem(s) on {issues.line_count} line(s) of the manifest; nothing was imported. "
        "Fix them and send it again, or pass skip_invalid=true to import the valid lines."
    )


def nothing_imported(importer: ManifestImport, result: ImportResult) -> str:
    """Why an import that went through found nothing to import (only blank lines), as the commands say it; or ""."""
    if any(result.counts.values()) or result.rejected:
        return ""
    return f"the manifest holds no {importer.what} (it is empty or has only blank lines); nothing was imported."


def result_body(importer: ManifestImport, result: ImportResult) -> dict[str, Any]:
    return {
        "counts": dict(result.counts),
        "rejected": result.rejected,
        "problems": problems(importer.issues) if result.rejected else [],
        "probe_job": result.job_id,
    }


def queue_import_job(path: Path, lines: int, request: ManifestRequest) -> Job:
    """A one-chunk job that imports the uploaded file on a worker (queued when the transaction commits)."""
    return create_chunked_job(
        JOB_KINDS[request.kind],
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
    if job.kind not in JOB_KINDS.values() or job.status != Job.Status.CANCELLED:
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
    payload = chunk.payload
    path = Path(payload["upload"])
    if not path.is_file():
        fail_job(chunk.job_id, "the uploaded manifest is gone from the server (cleaned up?); upload it again.")
        return ChunkResult()
    if payload["kind"] == "candidates":
        return _import_candidates_chunk(chunk, path, bool(payload.get("create_methods")))
    request = ManifestRequest(
        kind=payload["kind"],
        probe=payload["probe"],
        skip_invalid=payload["skip_invalid"],
        base_dir=payload.get("base_dir"),
    )
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


# --- candidate files ------------------------------------------------------------------


def run_candidate_import(path: Path, create_methods: bool) -> ImportReport:
    """``import_candidates`` on the uploaded file: everything or nothing, every problem by line."""
    with open(path, "rb") as stream:
        return import_candidates(stream, create_methods=create_methods, source_name="an API upload")


def candidate_problems(report: ImportReport) -> list[dict[str, Any]]:
    return [{"line": e.line, "field": e.field, "message": e.message} for e in report.errors]


def candidate_failure_summary(report: ImportReport) -> str:
    return f"{report.error_count} problem(s) in the file; nothing was imported. Fix them and send it again."


def candidate_result(report: ImportReport) -> dict[str, Any]:
    return {
        "lines": report.lines,
        "sets": report.sets,
        "replaced": report.replaced,
        "created_methods": report.created_methods,
    }


def _import_candidates_chunk(chunk: JobChunk, path: Path, create_methods: bool) -> ChunkResult:
    report = run_candidate_import(path, create_methods)
    path.unlink(missing_ok=True)
    if not report.ok:
        errors = [
            {"item": f"line {p['line']}", "line": p["line"], "field": p["field"], "error": p["message"]}
            for p in candidate_problems(report)
        ]
        record_job_errors(chunk.job_id, errors)
        Job.objects.filter(pk=chunk.job_id).update(error_count=report.error_count)
        fail_job(chunk.job_id, candidate_failure_summary(report))
        return ChunkResult()
    if report.sets == 0:
        fail_job(chunk.job_id, NO_CANDIDATES)
        return ChunkResult()
    job = Job.objects.get(pk=chunk.job_id)
    Job.objects.filter(pk=job.pk).update(params={**job.params, "result": candidate_result(report)})
    return ChunkResult(done=job.total)
