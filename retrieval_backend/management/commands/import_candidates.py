"""``manage.py import_candidates FILE.jsonl``: bring in candidates computed elsewhere, as a gallery manifest is."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import CommandError, CommandParser

from retrieval_backend.candidates.importing import CandidateImport
from retrieval_backend.importing.command import ManifestCommand
from retrieval_backend.importing.importer import ImportOptions, ImportResult, ManifestImport

STANDARD_INPUT = "-"


class Command(ManifestCommand):
    help = (
        "Import candidate lists computed outside coachbench from a JSON Lines file ('-' reads standard input), "
        'one line per query and method: {"query": "q-17", "method": "sportskills-v2", '
        '"clips": ["abc-1", "abc-7"], "scores": [0.91, 0.88]}. Queries and clips are external ids; clips are '
        "best first and scores never increase (ties are fine). Each (query, method) replaces the set stored "
        "for it before. Every problem is reported as LINE: FIELD: what is wrong, and with any problem nothing "
        "is imported (unless --skip-invalid). A method that does not exist is an error unless --create-methods "
        "creates it (backend 'imported')."
    )
    importer_class = CandidateImport
    manifest_help = "a JSONL file, or - for standard input"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--create-methods",
            action="store_true",
            help="create methods named in the file that do not exist yet, as imported methods",
        )

    def import_options(self, options: dict[str, Any], progress_file: TextIO | None) -> ImportOptions:
        import_options = super().import_options(options, progress_file)
        import_options.create_methods = options["create_methods"]
        return import_options

    def handle(self, *args: Any, **options: Any) -> None:
        if str(options["manifest"]) != STANDARD_INPUT:
            super().handle(*args, **options)
            return
        if options["skip_invalid"]:
            raise CommandError(
                "--skip-invalid writes the rejected lines next to the input file, and standard input has none: "
                "save the lines to a file and import that."
            )
        # Both passes read the file, and a pipe can be read once: it is copied to disk first, a piece at a time.
        with tempfile.TemporaryDirectory(prefix="import-candidates-") as folder:
            path = Path(folder) / "standard-input.jsonl"
            with open(path, "wb") as copy:
                shutil.copyfileobj(sys.stdin.buffer, copy, 1 << 20)
            self.source_name = "standard input"
            super().handle(*args, **{**options, "manifest": path})

    def imported(self, importer: ManifestImport, result: ImportResult) -> str:
        outcome = importer.outcome(result)
        created = f"; created methods {', '.join(outcome['created_methods'])}" if outcome["created_methods"] else ""
        return (
            f"imported {outcome['sets']} candidate sets from {outcome['lines']} lines "
            f"({outcome['replaced']} replaced earlier sets){created}"
        )
