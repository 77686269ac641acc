"""``manage.py export_study SLUG --out DIR|FILE.zip``: write a study's dataset bundle."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.research.export.bundle import ExportError, write_bundle
from annotations.research.results.service import DEFAULT_BOOTSTRAP
from retrieval_backend import command_args
from studies.models import Study


class Command(BaseCommand):
    help = (
        "Export a study's judgements, items, queries, clips, coaches (pseudonymous) and methods as Parquet, CSV "
        "and JSON Lines, with agreement.json, leaderboard.csv, a README dataset card and a manifest of SHA-256 "
        "hashes. The same data always gives the same bytes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", type=command_args.text, help="the study's slug")
        parser.add_argument(
            "--out",
            type=command_args.path,
            required=True,
            help="a new (or empty) folder, or a file name ending in .zip",
        )
        parser.add_argument(
            "--include-identities",
            action="store_true",
            help="add coaches' user names, names, emails and credentials (personal data: share with care)",
        )
        parser.add_argument(
            "--bootstrap",
            type=command_args.resamples,
            default=DEFAULT_BOOTSTRAP,
            metavar="N",
            help=f"bootstrap resamples for the intervals in the results (default {DEFAULT_BOOTSTRAP})",
        )
        parser.add_argument("--no-progress", action="store_true", help="don't draw a progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["slug"]).first()
        if study is None:
            known = ", ".join(Study.objects.order_by("slug").values_list("slug", flat=True)[:20]) or "none yet"
            raise CommandError(f"There is no study with the slug {options['slug']!r} (studies: {known}).")
        if options["bootstrap"] < 0:
            raise CommandError("--bootstrap takes a number of resamples, 0 or more.")
        from tqdm import tqdm

        with tqdm(
            disable=options["no_progress"], file=self.stderr._out, unit="row", desc=f"export {study.slug}"
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            try:
                summary = write_bundle(
                    study,
                    options["out"],
                    include_identities=options["include_identities"],
                    progress=progress,
                    bootstrap=options["bootstrap"],
                )
            except ExportError as error:
                raise CommandError(str(error)) from None
            except OSError as error:
                # A folder that can't be created or written (read-only, /proc, a file in the way).
                raise CommandError(
                    f"could not write the export to {options['out']}: {error.strerror or error}; "
                    "choose a writable folder or .zip path"
                ) from None
        self.stdout.write(
            f"Wrote {summary.path}: {summary.judgements} judgements, {summary.size_bytes:,} bytes, "
            f"sha256 {summary.sha256}."
        )
