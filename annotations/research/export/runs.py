"""Export runs started from the admin: a ``StudyExport`` row, a ``Job`` progress bar, the bundle written by a worker.

A run is offered for download only when its row says ``done`` with a path, which is set after the
zip has been moved into place. A worker killed half-way leaves the row ``running`` without a path
(and a staging folder the next run removes); ``manage.py resume_job <job id>`` sends the task again
at once, and Celery itself redelivers it once the broker's visibility timeout has passed (late
acknowledgement). Either way the bundle is written again from the beginning.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from annotations.models import StudyExport
from core.dispatch import send_on_commit
from core.jobs import fail_job, finish_job
from core.models import Job
from studies.models import Study

logger = logging.getLogger(__name__)

JOB_KIND = "export_study"
EXPORT_TASK = "annotations.tasks.export_study_bundle"


def start_export(
    study: Study, *, requested_by: AbstractBaseUser | None = None, include_identities: bool = False
) -> StudyExport:
    """Create the run and its job, and queue the worker task once the transaction commits."""
    with transaction.atomic():
        job = Job.objects.create(kind=JOB_KIND, params={"study": study.slug, "include_identities": include_identities})
        export = StudyExport.objects.create(
            study=study, job=job, include_identities=include_identities, requested_by=requested_by
        )
        # What `resume_job` sends again after a worker died half-way (the run starts over).
        job.params = {**job.params, "task": EXPORT_TASK, "task_args": [export.pk]}
        job.save(update_fields=["params"])
        send_on_commit(EXPORT_TASK, export.pk)
    return export


def export_file(export: StudyExport) -> Path:
    """Where a finished run's zip lies; refuses a stored path that would lead outside EXPORT_ROOT."""
    root = Path(settings.EXPORT_ROOT).resolve()
    path = (root / export.path).resolve()
    if root not in path.parents:
        raise FileNotFoundError(export.path)
    return path


def run_export(export_id: int, *, batch_rows: int | None = None, bootstrap: int | None = None) -> str:
    """Write the run's bundle (again, if a killed worker left it half done). Returns what happened."""
    # Imported here, not at module level: the admin imports this module, and every
    # web process would otherwise load scipy and pyarrow at start-up.
    from annotations.research.export.bundle import BATCH_ROWS, remove_stale_partials, write_bundle
    from annotations.research.results.service import DEFAULT_BOOTSTRAP

    batch_rows = BATCH_ROWS if batch_rows is None else batch_rows
    bootstrap = DEFAULT_BOOTSTRAP if bootstrap is None else bootstrap
    claimed = (
        StudyExport.objects.filter(pk=export_id)
        .exclude(status=StudyExport.Status.DONE)
        .update(status=StudyExport.Status.RUNNING, error="")
    )
    if claimed != 1:
        return "skipped: no such export, or already done"
    export = StudyExport.objects.select_related("study").get(pk=export_id)
    job_id = export.job_id
    if job_id:
        Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started=timezone.now(), done=0)
    root = Path(settings.EXPORT_ROOT)
    remove_stale_partials(root)
    relative = Path(export.study.slug) / f"{export.study.slug}-export-{export.pk}.zip"
    target = root / relative
    # A previous attempt may have moved its zip into place and died before saying so: it was never offered.
    target.unlink(missing_ok=True)

    def progress(done: int, total: int) -> None:
        if job_id:
            Job.objects.filter(pk=job_id).update(done=done, total=total)

    try:
        summary = write_bundle(
            export.study,
            target,
            include_identities=export.include_identities,
            progress=progress,
            batch_rows=batch_rows,
            bootstrap=bootstrap,
        )
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task retries, and the claim above lets it
    except Exception as exc:
        logger.exception("export %s of study %s failed", export_id, export.study_id)
        message = _failure_message(exc, root, job_id)
        StudyExport.objects.filter(pk=export_id).update(
            status=StudyExport.Status.FAILED, error=message, finished=timezone.now()
        )
        if job_id:
            fail_job(job_id, message)
        return "failed"
    StudyExport.objects.filter(pk=export_id).update(
        status=StudyExport.Status.DONE,
        path=relative.as_posix(),
        sha256=summary.sha256,
        size_bytes=summary.size_bytes,
        judgements=summary.judgements,
        finished=timezone.now(),
    )
    if job_id:
        finish_job(job_id, message=f"{summary.judgements} judgements, {summary.size_bytes} bytes")
    return "done"


def _failure_message(exc: BaseException, root: Path, job_id: int | None) -> str:
    """What the admin shows for a failed run; a full disk says where to make room and how to go on."""
    if isinstance(exc, OSError) and exc.errno in {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}:
        what = "file size limit reached" if exc.errno == errno.EFBIG else "no space left on device"
        then = f"then run: python manage.py resume_job {job_id}" if job_id else "then export again"
        return f"{what} while writing the export under {root}: free space there (or set EXPORT_ROOT elsewhere), {then}."
    return f"{type(exc).__name__}: {exc}"
