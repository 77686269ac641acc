"""Celery tasks of the studies app: building items, returning abandoned reservations."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

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
