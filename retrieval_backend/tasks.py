"""Celery tasks of the gallery and retrieval app.

Tasks are thin: they take ids, re-read rows, and call a service function. Chunked
work goes through ``retrieval_backend.jobs.run_chunk`` so that it is claimed once
and resumable. Queues are chosen by name in ``CELERY_TASK_ROUTES``: ``embed_*``
run on ``gpu``, ``render_*`` on ``render``, everything else on ``default``.
"""

from __future__ import annotations
