"""``manage.py prune_indexes``: remove superseded index files and finished builds' shards."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from retrieval_backend.command_args import hours
from retrieval_backend.pruning import prune_index_files


class Command(BaseCommand):
    help = (
        "Remove embedding files nothing needs any more: index files of superseded builds, shards of finished "
        "builds, and files no build names. Beat runs this every six hours; --dry-run lists without removing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace-hours",
            type=hours,
            default=None,
            help=(
                f"only what was superseded or finished this long ago (default INDEX_PRUNE_GRACE_HOURS, "
                f"{settings.INDEX_PRUNE_GRACE_HOURS}); 0 while workers generate candidates may remove an index one "
                "of them is about to read"
            ),
        )
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")

    def handle(self, *args, grace_hours: float | None, dry_run: bool, **options) -> None:
        grace = timedelta(hours=grace_hours) if grace_hours is not None else None
        report = prune_index_files(grace=grace, dry_run=dry_run)
        for path, size in report.removed:
            self.stdout.write(f"{'would remove' if dry_run else 'removed'} {path} ({size / 1e6:.1f} MB)")
        verb = "would free" if dry_run else "freed"
        self.stdout.write(
            f"{verb} {report.bytes_freed / 1e6:.1f} MB in {len(report.removed)} paths; "
            f"{report.indexes_pruned} superseded index build(s)."
        )
