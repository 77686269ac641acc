"""``manage.py import_queries FILE.jsonl``: import mistake queries and their known positive clips."""

from __future__ import annotations

from retrieval_backend.importing.command import VideoManifestCommand
from retrieval_backend.importing.queries import QueryImport


class Command(VideoManifestCommand):
    help = (
        "Import mistake queries, one a line: "
        '{"id": "q-17", "video": "queries/q17.mp4", "sport": "basketball", "skill": "jump shot", '
        '"start": 0.0, "end": 6.0, "mistake": "...", "positives": ["abc-1"]}. '
        "Positives must name clips already in the gallery. Every problem is reported as "
        "LINE: FIELD: what is wrong, and with any problem nothing is imported (unless --skip-invalid)."
    )
    importer_class = QueryImport
    summary_groups = [
        ("queries", ["queries new", "queries updated", "queries unchanged"]),
        ("recordings", ["videos new", "videos updated", "videos unchanged"]),
    ]
