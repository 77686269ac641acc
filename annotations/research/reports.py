"""The cached study report: marked stale when judgements change, recomputed by a worker, debounced.

A submit or revision calls ``report_is_stale`` once its transaction commits. That sets the
report's ``dirty`` flag and queues one recompute ``DEBOUNCE_S`` seconds later, unless one is
queued already: a study receiving an answer a second recomputes about every ``DEBOUNCE_S``
seconds, not on every answer. The task claims the flag (``dirty`` True -> False) before it reads
the judgements, so an answer arriving while it computes sets the flag again and queues the next
round; nothing is lost and no two rounds run for one change. A recompute queued more than
``REQUEUE_AFTER`` ago and not yet claimed (a lost message, a failed task) is queued again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from annotations.models import StudyReport
from core.database import fetch_one
from core.dispatch import send_on_commit
from studies.models import Study

logger = logging.getLogger(__name__)

DEBOUNCE_S = 30
REQUEUE_AFTER = timedelta(minutes=10)


@cache
def _pending_sql(vendor: str) -> str:
    """Whether the study's report has a recompute queued and not yet claimed; params study id, queued since.

    Run after every answer, so written once here rather than built by the ORM each time.
    """
    q = connection.ops.quote_name
    return (
        f"SELECT 1 FROM {q(StudyReport._meta.db_table)} "  # noqa: S608 - the table name from model meta
        f'WHERE "study_id" = %s AND "dirty" AND "queued" >= %s'
    )


def report_is_stale(study_id: int, *, countdown: float = DEBOUNCE_S) -> bool:
    """Mark the study's report stale and queue a recompute unless one is pending. Returns whether it queued.

    The common case, a recompute already queued, costs one indexed read.
    """
    now = timezone.now()
    since = connection.ops.adapt_datetimefield_value(now - REQUEUE_AFTER)
    if fetch_one(_pending_sql(connection.vendor), [study_id, since]):
        return False  # queued and not claimed yet: it will read this change
    reports = StudyReport.objects.filter(study_id=study_id)
    pending = Q(dirty=True, queued__gte=now - REQUEUE_AFTER)
    if not reports.exclude(pending).update(dirty=True, queued=now):
        _, created = StudyReport.objects.get_or_create(study_id=study_id, defaults={"dirty": True, "queued": now})
        if not created:
            return False  # someone queued it between the two statements
    _send(study_id, countdown)
    return True


def recompute_now(study_id: int) -> None:
    """The researcher's "recompute now": queue a recompute at once, whatever is pending."""
    StudyReport.objects.get_or_create(study_id=study_id)
    StudyReport.objects.filter(study_id=study_id).update(dirty=True, queued=timezone.now())
    _send(study_id, 0)


def _send(study_id: int, countdown: float) -> None:
    # After the commit that marked the report stale, so the task finds it marked.
    send_on_commit("annotations.tasks.compute_study_report", study_id, countdown=countdown)


def refresh_report(study_id: int, *, force: bool = False, bootstrap: int | None = None) -> str:
    """Recompute the report if it is stale (or ``force``). Returns what happened, for logs and tests."""
    study = Study.objects.filter(pk=study_id).first()
    if study is None:
        return "skipped: no such study"
    StudyReport.objects.get_or_create(study=study)
    rows = StudyReport.objects.filter(study=study)
    claimed = rows.update(dirty=False) if force else rows.filter(dirty=True).update(dirty=False)
    if not claimed:
        return "skipped: up to date"
    # Imported here: matplotlib and the statistics are for workers, not for every web process that records answers.
    from annotations.research.results.figures import available_figures, inline_svg, render_figure
    from annotations.research.results.service import jsonable, study_results

    try:
        data = jsonable(study_results(study, **({"bootstrap": bootstrap} if bootstrap is not None else {})))
        figures = {name: inline_svg(render_figure(data, name, "svg")) for name in available_figures(data)}
    except Exception as exc:
        logger.exception("computing the report of study %s failed", study_id)
        # Stale again, so the next change (or the button) tries anew; the old figures stay visible.
        rows.update(dirty=True, error=f"{type(exc).__name__}: {exc}")
        raise
    rows.update(data=data, figures=figures, computed=timezone.now(), error="")
    return "computed"
