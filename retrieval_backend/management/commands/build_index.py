"""``python manage.py build_index METHOD [--rebuild] [--no-wait]``: embed the gallery and build the method's index."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.jobs import follow_job
from core.models import Job
from retrieval_backend import command_args
from retrieval_backend.embedding import ensure_index, index_key, indexes_for_key
from retrieval_backend.methods import BackendNotFound, BackendParamsError, get_backend
from retrieval_backend.models import EmbeddingIndex, RetrievalMethod


class Command(BaseCommand):
    help = (
        "Embed the gallery's clips with a retrieval method (on workers of the gpu queue) and build its FAISS index. "
        "Only new clips are embedded when the gallery grew; removed clips force a full rebuild."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("method", type=command_args.text, help="name of the retrieval method")
        parser.add_argument("--rebuild", action="store_true", help="embed every clip again, ignoring the ready index")
        parser.add_argument("--no-wait", action="store_true", help="queue the job and return without following it")
        parser.add_argument(
            "--timeout", type=command_args.seconds, default=None, help="stop following after this many seconds"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            method = RetrievalMethod.objects.get(name=options["method"])
        except RetrievalMethod.DoesNotExist:
            names = ", ".join(RetrievalMethod.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"no retrieval method is called {options['method']!r} (existing: {names}).") from None
        try:
            backend = get_backend(method)
        except (BackendNotFound, BackendParamsError) as exc:
            raise CommandError(f"method {method.name!r}: {exc}") from None
        if not backend.needs_index:
            self.stdout.write(f"method {method.name!r} ({method.backend}) needs no index.")
            return
        if options["rebuild"]:
            indexes_for_key(method, index_key(method, backend)).filter(status=EmbeddingIndex.Status.READY).update(
                status=EmbeddingIndex.Status.STALE
            )
        job = ensure_index(method)
        if job is None:
            self.stdout.write(f"the index of method {method.name!r} is ready and matches the gallery.")
            return
        self.stdout.write(f"embedding job #{job.pk}: {job.total} clip(s) in {job.chunks.count()} chunk(s)")
        if options["no_wait"]:
            return
        job = follow_job(job, self.stderr, timeout_s=options["timeout"])
        for error in job.errors[:20]:
            self.stderr.write(f"  {error['item']}: {error['error']}")
        if job.status == Job.Status.DONE:
            self.stdout.write(job.message or "done")
        elif job.is_finished:
            raise CommandError(
                f"job #{job.pk} {job.status}: {job.message}; resume it with: manage.py resume_job {job.pk}"
            )
        else:
            self.stdout.write(f"job #{job.pk} is still {job.status}; follow it in the admin.")
