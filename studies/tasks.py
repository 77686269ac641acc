"""Celery tasks of the studies app: building items, returning abandoned reservations."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from core.models import Job
from studies.assignment import release_expired
from studies.items import build_items
from studies.models import Study

logger = logging.getLogger(__name__)


@shared_task(
    name="studies.tasks.build_study_items",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def build_study_items(study_id: int) -> str:
    """Build a generating study's items, then mark it ready (or back to draft with the reason)."""
    study = Study.objects.filter(pk=study_id, status=Study.Status.GENERATING).first()
    if study is None:
        return "skipped: the study is not generating"
    try:
        report = build_items(study)
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("building items of study %s failed", study_id)
        Study.objects.filter(pk=study_id, status=Study.Status.GENERATING).update(
            status=Study.Status.DRAFT, status_message=f"Building items failed: {exc}"
        )
        return "failed"
    message = (
        f"{report.total} items: {report.pairwise} pairwise, {report.likert} Likert, {report.gold} gold; "
        f"{report.identical_pairs} pairwise comparisons skipped because both methods returned the same clip."
    )
    Study.objects.filter(pk=study_id, status=Study.Status.GENERATING).update(
        status=Study.Status.READY, status_message=message
    )
    return message


@shared_task(name="studies.tasks.release_expired_reservations")
def release_expired_reservations() -> int:
    return release_expired()


@shared_task(name="studies.tasks.publish_demo_study", bind=True, max_retries=None)
def publish_demo_study(self, study_id: int, generation_job_id: int) -> str:
    """Once the demo's candidates exist, build its items and put it live. Polls by re-queuing itself."""
    from studies.lifecycle import LifecycleError, publish

    job = Job.objects.filter(pk=generation_job_id).first()
    if job is None:
        return "skipped: the generation job is gone"
    if not job.is_finished:
        raise self.retry(countdown=5)
    if job.status != Job.Status.DONE:
        Study.objects.filter(pk=study_id, status=Study.Status.GENERATING).update(
            status=Study.Status.DRAFT,
            status_message=f"Candidate generation {job.status}: {job.message} See job {job.pk} in the admin.",
        )
        return f"generation {job.status}"
    result = build_study_items(study_id)
    study = Study.objects.get(pk=study_id)
    try:
        publish(study)
    except LifecycleError as exc:
        Study.objects.filter(pk=study_id).update(status_message=str(exc))
        return f"not published: {exc}"
    return f"live: {result}"
