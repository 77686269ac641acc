"""``manage.py generate_candidates --methods NAME[,NAME] [--queries all|ID,...] --k 10``: queue candidate generation."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.jobs import follow_job
from core.models import Job
from retrieval_backend import command_args
from retrieval_backend.method_lookup import resolve_methods, split_names
from retrieval_backend.models import MistakeQuery

SHOWN_ERRORS = 10


class Command(BaseCommand):
    help = (
        "Queue a job that ranks mistake queries with retrieval methods on the Celery workers and stores "
        "k candidates per query and method (replacing earlier ones of the same pair). Methods whose index "
        "is missing start their embedding job first and generate once it is ready. By default the command "
        "waits with a progress bar; --no-wait returns as soon as the job is queued."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--methods", required=True, type=command_args.text, help="comma-separated method names, e.g. random,visual"
        )
        parser.add_argument(
            "--queries",
            default="all",
            type=command_args.text,
            help="'all' (the default) or comma-separated query external ids, e.g. q-17,q-18",
        )
        parser.add_argument("--k", type=int, default=10, help="candidates per query and method (default 10)")
        parser.add_argument(
            "--wait",
            action="store_true",
            default=True,
            help="follow the job with a progress bar until it ends (the default)",
        )
        parser.add_argument("--no-wait", dest="wait", action="store_false", help="return once the job is queued")

    def handle(self, *args, methods: str, queries: str, k: int, wait: bool, **options) -> None:
        # Imported here: the ranking stack is only loaded by commands that need it.
        from retrieval_backend.candidates.generation import MAX_K, GenerationError, start_generation

        if not 1 <= k <= MAX_K:
            raise CommandError(f"--k must be between 1 and {MAX_K}, not {k}.")
        chosen = resolve_methods(methods)
        selected = self._resolve_queries(queries)
        count = MistakeQuery.objects.count() if selected is None else len(selected)
        if count == 0:
            raise CommandError("there are no mistake queries yet: import some first (see import_gallery).")
        try:
            job = start_generation(chosen, selected, k)
        except GenerationError as exc:
            raise CommandError(str(exc)) from exc
        chunks = job.chunks.count()
        self.stdout.write(
            f"queued job {job.pk}: {job.total} candidate sets ({count} queries x {len(chosen)} methods, k={k}) "
            f"in {chunks} chunks."
        )
        for name, embedding_job in job.params.get("waiting_for_indexes", {}).items():
            self.stdout.write(f"  {name}: waiting for its index (embedding job {embedding_job}) to be built first.")
        if not wait:
            self.stdout.write(f"follow it in the admin, or stop it with: manage.py cancel_job {job.pk}")
            return
        self.stdout.write(
            "following it until it ends (needs a running worker: celery -A config worker -Q default); "
            "Ctrl-C stops following, not the job."
        )
        started = time.monotonic()
        try:
            job = follow_job(job, self.stderr)
        except KeyboardInterrupt:
            self.stdout.write(
                f"\nstopped following job {job.pk}; it goes on in the workers. "
                f"Stop it with: manage.py cancel_job {job.pk}"
            )
            return
        self._summarise(job, time.monotonic() - started)

    def _resolve_queries(self, value: str) -> list[MistakeQuery] | None:
        if value.strip().lower() == "all":
            return None
        ids = split_names(value)
        if not ids:
            raise CommandError("--queries is empty: give 'all' or query external ids such as q-17,q-18.")
        found: dict[str, MistakeQuery] = {}
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            found.update({q.external_id: q for q in MistakeQuery.objects.filter(external_id__in=batch)})
        unknown = [i for i in ids if i not in found]
        if unknown:
            shown = ", ".join(unknown[:20]) + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
            raise CommandError(
                f"unknown query id(s): {shown}. --queries takes the queries' external ids, "
                "as shown in the admin under Mistake queries."
            )
        return [found[i] for i in ids]

    def _summarise(self, job: Job, seconds: float) -> None:
        self.stdout.write(
            f"job {job.pk} {job.status}: {job.done} of {job.total} candidate sets written, "
            f"{job.error_count} errors, {seconds:.1f} s."
        )
        for error in job.errors[:SHOWN_ERRORS]:
            self.stdout.write(f"  {error.get('item')}: {error.get('error')}")
        if job.error_count > SHOWN_ERRORS:
            self.stdout.write(f"  ... and {job.error_count - SHOWN_ERRORS} more (see the job in the admin).")
        if job.status == Job.Status.FAILED:
            raise CommandError(f"{job.message} Resume with: manage.py resume_job {job.pk}")
        if job.status == Job.Status.CANCELLED:
            raise CommandError(f"job {job.pk} was cancelled; sets written before that are kept.")
