"""``manage.py render_clips``: render gallery clips (and query segments) ahead of time on the render queue."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.jobs import follow_job
from retrieval_backend import command_args
from retrieval_backend.models import Clip, MistakeQuery, Sport
from retrieval_backend.prerender import DEFAULT_CHUNK_SIZE, queue_rendering


class Command(BaseCommand):
    help = (
        "Render playable MP4s of gallery clips before coaches ask for them, on workers listening to the "
        "`render` queue (celery -A config worker -Q render). Choose --sport SLUG (repeatable) or --all; "
        "--queries renders the mistake queries of the same sports too. Clips already rendered are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sport",
            action="append",
            default=[],
            type=command_args.text,
            metavar="SLUG",
            help="render this sport's clips (repeatable)",
        )
        parser.add_argument("--all", dest="all_sports", action="store_true", help="render the clips of every sport")
        parser.add_argument("--queries", action="store_true", help="render the mistake queries' segments too")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=f"segments per task (default {DEFAULT_CHUNK_SIZE})",
        )
        parser.add_argument("--wait", action="store_true", help="follow the job with a progress bar until it ends")

    def handle(
        self, *args, sport: list[str], all_sports: bool, queries: bool, chunk_size: int, wait: bool, **options
    ) -> None:
        if chunk_size < 1:
            raise CommandError(f"--chunk-size must be at least 1, got {chunk_size}.")
        if all_sports and sport:
            raise CommandError("give either --sport or --all, not both.")
        if not all_sports and not sport:
            raise CommandError(
                "say which clips to render: --sport SLUG (repeatable) for some sports, or --all for the whole gallery."
            )
        clips = Clip.objects.all()
        query_rows = MistakeQuery.objects.all() if queries else None
        if sport:
            known = set(Sport.objects.filter(slug__in=sport).values_list("slug", flat=True))
            unknown = sorted(set(sport) - known)
            if unknown:
                available = ", ".join(Sport.objects.order_by("slug").values_list("slug", flat=True)) or "none yet"
                raise CommandError(f"no sport with slug {', '.join(unknown)}; known sports: {available}.")
            clips = clips.filter(sport__slug__in=sport)
            if query_rows is not None:
                query_rows = query_rows.filter(sport__slug__in=sport)

        total = clips.count() + (query_rows.count() if query_rows is not None else 0)
        if total == 0:
            self.stdout.write("Nothing to render: no clip or query segment matches. Import a gallery first.")
            return
        job = queue_rendering(clips, query_rows, chunk_size=chunk_size, params={"sports": sport or "all"})
        self.stdout.write(
            f"job {job.pk}: rendering {job.params['clips']} clip(s) and {job.params['queries']} query segment(s) "
            f"in {job.chunks.count()} chunk(s) on the render queue."
        )
        if not wait:
            self.stdout.write("Follow it in the admin (Jobs) or run again with --wait.")
            return
        job = follow_job(job, self.stderr)
        self.stdout.write(f"job {job.pk}: {job.status}, {job.done}/{job.total} rendered, {job.error_count} error(s).")
        for error in job.errors[:20]:
            self.stdout.write(f"  {error['item']}: {error['error']}")
        if job.error_count > 20:
            self.stdout.write(f"  ... and {job.error_count - 20} more in the admin (Jobs).")
        if job.status != job.Status.DONE or job.error_count:
            raise CommandError(f"job {job.pk} ended {job.status} with {job.error_count} error(s); see above.")
