"""``manage.py cancel_job ID``: stop a job; chunks not yet started are skipped."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.jobs import cancel_job
from core.models import Job


class Command(BaseCommand):
    help = "Cancel a queued or running job. A chunk already running finishes; the rest are skipped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int)

    def handle(self, *args, job_id: int, **options) -> None:
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"there is no job {job_id}.")
        if not cancel_job(job):
            raise CommandError(f"job {job_id} has already ended ({job.status}); nothing to cancel.")
        self.stdout.write(f"job {job_id} cancelled.")
