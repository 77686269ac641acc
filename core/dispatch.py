"""The one way this code sends a task to the workers: by its name, once the transaction commits.

After the commit, because a task receives ids and re-reads its rows: sent earlier, a
quick worker reads them before they exist, or as they were before the change; sent
from a transaction that then rolls back, it works on rows that never were. Outside a
transaction (a worker's own code, a beat task, an on-commit hook) Django runs the
hook at once, so the same call serves there too.

By name, because the sender then needs nothing of the task's module: core starts the
tasks of every app without importing one, and the web process that records a coach's
answer queues the statistics' task without loading the statistics. Names are fixed
in each ``@shared_task(name=...)``; routing to a queue follows ``CELERY_TASK_ROUTES``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction


def send_on_commit(name: str, *args: Any, countdown: float | None = None, queue: str | None = None) -> None:
    """Send the task ``name`` with ``args`` when the current transaction commits (at once outside one).

    ``countdown`` delays its start by that many seconds (a debounce); ``queue`` overrides
    the queue its route gives. A broker error is raised to the caller, after the commit;
    a caller whose request must not fail over it runs its own on-commit work with
    ``robust=True`` (see ``annotations.coach.judging``).
    """
    transaction.on_commit(partial(_send, name, args, countdown=countdown, queue=queue))


def _send(name: str, args: tuple[Any, ...], *, countdown: float | None, queue: str | None) -> None:
    # The project's app (config.celery_app), current since Django loaded the config package; core imports no wiring.
    options: dict[str, Any] = {}
    if countdown is not None:
        options["countdown"] = countdown
    if queue is not None:
        options["queue"] = queue
    current_app.send_task(name, args=args, **options)
