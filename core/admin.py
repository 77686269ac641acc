"""Admin for jobs: what the workers are doing, with progress bars and per-item errors.

Read-only: a job changes through its runner (``core.jobs``), the ``cancel_job`` and
``resume_job`` commands or the API, never by editing its row.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from core.models import Job


def progress_bar(job: Job) -> str:
    return format_html(
        '<progress max="100" value="{}" class="cb-bar" aria-label="{}% done"></progress> {}/{}{}',
        job.percent,
        job.percent,
        job.done,
        job.total,
        format_html(' <span class="cb-error">{} errors</span>', job.error_count) if job.error_count else "",
    )


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "created", "finished"]
    list_filter = ["status", "kind"]
    readonly_fields = [
        "kind",
        "status",
        "params",
        "done",
        "total",
        "progress",
        "error_count",
        "errors",
        "message",
        "celery_ids",
        "created",
        "started",
        "finished",
    ]

    @admin.display(description="progress")
    def progress(self, job: Job) -> str:
        return progress_bar(job)
