"""Celery tasks of the annotations app: recomputing study reports, writing dataset exports.

Thin wrappers: each takes an id, and the service it calls re-reads the rows and claims its work.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from annotations.research.export.runs import run_export
from annotations.research.reports import refresh_report


@shared_task(
    name="annotations.tasks.compute_study_report",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def compute_study_report(study_id: int, force: bool = False) -> str:
    """Recompute a study's cached report if judgements changed since it was computed."""
    return refresh_report(study_id, force=force)


@shared_task(
    name="annotations.tasks.export_study_bundle",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def export_study_bundle(export_id: int) -> str:
    """Write the dataset bundle of one export run."""
    return run_export(export_id)
