"""``manage.py import_candidates FILE.jsonl``: bring in candidates computed elsewhere, all or nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from retrieval_backend.candidates.importing import import_candidates

SHOWN_ERRORS = 200


class Command(BaseCommand):
    help = (
        "Import candidate lists computed outside coachbench from a JSON Lines file ('-' reads standard input), "
        'one line per query and method: {"query": "q-17", "method": "sportskills-v2", '
        '"clips": ["abc-1", "abc-7"], "scores": [0.91, 0.88]}. Queries and clips are external ids; clips are '
        "best first and scores never increase (ties are fine). Each (query, method) replaces the set stored "
        "for it before. Any wrong line is reported as LINE: FIELD: problem and nothing is imported. "
        "A method that does not exist is an error unless --create-methods creates it (backend 'imported')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a .jsonl file, or - for standard input")
        parser.add_argument(
            "--create-methods",
            action="store_true",
            help="create methods named in the file that do not exist yet, as imported methods",
        )

    def handle(self, *args, file: str, create_methods: bool, **options) -> None:
        if file == "-":
            report = import_candidates(sys.stdin.buffer, create_methods=create_methods, source_name="standard input")
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"{file} is not a file: give the path of a .jsonl file, or - for standard input.")
            with path.open("rb") as stream:
                report = import_candidates(stream, create_methods=create_methods, source_name=path.name)
        if not report.ok:
            for error in report.errors[:SHOWN_ERRORS]:
                self.stderr.write(str(error))
            if report.error_count > SHOWN_ERRORS:
                self.stderr.write(f"... and {report.error_count - SHOWN_ERRORS} more errors.")
            raise CommandError(
                f"{report.error_count} error(s) in {file}; nothing was imported. Fix the lines above and run again."
            )
        if report.sets == 0:
            raise CommandError(f"{file} holds no candidate lines; nothing was imported.")
        created = f"; created methods {', '.join(report.created_methods)}" if report.created_methods else ""
        self.stdout.write(
            f"imported {report.sets} candidate sets from {report.lines} lines "
            f"({report.replaced} replaced earlier sets){created}."
        )
