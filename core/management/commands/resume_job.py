"""``manage.py resume_job ID``: queue again the chunks of a job that did not finish."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.jobs import JobNotResumable, follow_job, resume_job
from core.models import Job, JobChunk


class Command(BaseCommand):
    help = (
        "Resume a job after a worker died or chunks failed: finished chunks are kept, "
        "the rest are queued again. Use --failed-only while its workers are still alive."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int)
        parser.add_argument("--failed-only", action="store_true", help="leave running chunks alone")
        parser.add_argument("--wait", action="store_true", help="follow the job with a progress bar until it ends")

    def handle(self, *args, job_id: int, failed_only: bool, wait: bool, **options) -> None:
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"there is no job {job_id}; `manage.py shell -c` or the admin lists jobs.")
        if job.status == Job.Status.DONE:
            self.stdout.write(f"job {job_id} is already done; nothing to resume.")
            return
        # Pending chunks are sent again too: their messages may have been lost with a restarted broker.
        pending = job.chunks.filter(status=JobChunk.Status.PENDING).count()
        try:
            queued = resume_job(job, include_running=not failed_only)
        except JobNotResumable as exc:
            raise CommandError(str(exc)) from None
        if "task_args" in job.params:
            self.stdout.write(f"job {job_id}: its task queued again.")
        else:
            self.stdout.write(f"job {job_id}: {queued + pending} chunk(s) queued again ({queued} were unfinished).")
        if wait:
            job = follow_job(job, self.stderr)
            self.stdout.write(f"job {job_id}: {job.status}, {job.done}/{job.total} done, {job.error_count} errors.")
