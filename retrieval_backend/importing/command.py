"""What the manifest import commands share: their options, the run, the summary line.

``import_gallery``, ``import_queries`` and ``import_candidates`` are one command
each over one ``ManifestImport``: the same ``--skip-invalid``, the same failure
message (every problem as ``LINE: FIELD: what is wrong``), the same rejected
file. A kind adds its own options and the counts of its summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from retrieval_backend.importing.importer import ImportFailed, ImportOptions, ImportResult, ManifestImport
from retrieval_backend.importing.videos import ProbeMode


class ManifestCommand(BaseCommand):
    importer_class: type[ManifestImport]
    # How what the import creates names the file; ``None``: by its file name.
    source_name: str | None = None
    manifest_help = "a JSONL file"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path, help=self.manifest_help)
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid lines and write the rejected ones, with their reasons, to "
            "MANIFEST.rejected.jsonl next to the input",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def import_options(self, options: dict[str, Any], progress_file: TextIO | None) -> ImportOptions:
        """The importer's options from the command line; a kind adds its own."""
        return ImportOptions(
            # A kind without videos probes nothing; the video manifests' --probe sets this.
            probe=ProbeMode.NONE,
            skip_invalid=options["skip_invalid"],
            probe_timeout_s=float(settings.VIDEO_PROBE_TIMEOUT_S),
            allowed_roots=list(settings.VIDEO_ALLOWED_ROOTS),
            allowed_url_prefixes=list(settings.VIDEO_ALLOWED_URL_PREFIXES),
            progress_file=progress_file,
        )

    def handle(self, *args: Any, **options: Any) -> None:
        progress = not options["no_progress"] and self.stderr.isatty()
        # The raw stream: OutputWrapper ends every write with a newline, which breaks a redrawn bar.
        bar_stream = self.stderr._out
        bar = bar_stream if progress else None
        importer = self.importer_class(options["manifest"], self.import_options(options, bar))
        if self.source_name is not None:
            importer.source_name = self.source_name
        try:
            result = importer.run()
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
        if not any(result.counts.values()) and not result.rejected:
            raise CommandError(
                f"{importer.path} holds no {importer.what} (it is empty or has only blank lines); nothing was imported."
            )
        self.stdout.write(self.summary(importer, result))
        self.after_import(result, options, bar)

    def summary(self, importer: ManifestImport, result: ImportResult) -> str:
        line = self.imported(importer, result)
        if result.rejected_path is not None:
            line += f"; {result.rejected} line(s) rejected"
            if result.rejected:
                line += f", written with their reasons to {result.rejected_path}"
        return line

    def imported(self, importer: ManifestImport, result: ImportResult) -> str:
        """The summary's first part: what was written, in the kind's words."""
        raise NotImplementedError

    def after_import(self, result: ImportResult, options: dict[str, Any], bar_stream: TextIO | None) -> None:
        """After the summary is printed: follow a job the import queued, say."""


class VideoManifestCommand(ManifestCommand):
    """``import_gallery`` and ``import_queries``: manifests of videos, which may be probed here or on workers."""

    # Order of the counts in the summary line: (label, [count keys]).
    summary_groups: list[tuple[str, list[str]]] = []
    manifest_help = "a JSONL file; video paths are relative to its folder"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--probe",
            choices=ProbeMode.CHOICES,
            default=ProbeMode.SYNC,
            help="sync (default): probe each new video here, checking segments against its duration; "
            "none: trust the manifest, videos stay pending; async: import now and probe on Celery workers",
        )
        parser.add_argument(
            "--wait", action="store_true", help="with --probe async: follow the probing job until it ends"
        )

    def import_options(self, options: dict[str, Any], progress_file: TextIO | None) -> ImportOptions:
        import_options = super().import_options(options, progress_file)
        import_options.probe = options["probe"]
        return import_options

    def imported(self, importer: ManifestImport, result: ImportResult) -> str:
        parts = []
        for label, keys in self.summary_groups:
            counts = ", ".join(f"{result.counts.get(key, 0)} {key.split()[-1]}" for key in keys)
            parts.append(f"{label} {counts}")
        return f"imported {importer.path.name}: " + "; ".join(parts)

    def summary(self, importer: ManifestImport, result: ImportResult) -> str:
        line = super().summary(importer, result)
        if result.job_id is not None:
            line += (
                f"\nprobing on workers: job {result.job_id} (watch it in the admin; "
                f"`manage.py resume_job {result.job_id}` if a worker dies)"
            )
        elif importer.options.probe == ProbeMode.NONE:
            line += "\nvideos were not probed (--probe none): they stay pending until probed"
        return line

    def after_import(self, result: ImportResult, options: dict[str, Any], bar_stream: TextIO | None) -> None:
        if result.job_id is not None and options["wait"]:
            self._follow(result.job_id, bar_stream)

    def _follow(self, job_id: int, bar_stream: TextIO | None) -> None:
        from core.jobs import follow_job
        from core.models import Job

        job = follow_job(Job.objects.get(pk=job_id), bar_stream or self.stderr._out, progress=bar_stream is not None)
        self.stdout.write(f"job {job_id}: {job.status}, {job.done}/{job.total} probed, {job.error_count} error(s)")
        for error in job.errors:
            self.stdout.write(f"  {error.get('item')}: {error.get('error')}")
        if job.status != Job.Status.DONE:
            raise CommandError(f"the probing job {job_id} ended {job.status}: {job.message}")
