"""``{% refresh_while_jobs_run %}``: reload an admin page while jobs are queued or running.

A ``<meta http-equiv="refresh">`` needs no JavaScript, and stops on its own once
every job has ended, so a researcher can leave the page open and watch the bars.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from core.models import Job

register = template.Library()

ACTIVE = [Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.FINALIZING]


@register.simple_tag
def refresh_while_jobs_run(seconds: int = 10, job: Job | None = None) -> str:
    """The refresh tag when ``job`` (or, without one, any job) is still at work; else nothing."""
    active = job.status in ACTIVE if job is not None else Job.objects.filter(status__in=ACTIVE).exists()
    return format_html('<meta http-equiv="refresh" content="{}">', seconds) if active else ""
