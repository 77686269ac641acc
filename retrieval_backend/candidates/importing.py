"""Importing candidates computed elsewhere (a research cluster): one manifest kind of ``retrieval_backend.importing``.

One line per query and method, with external ids::

    {"query": "q-17", "method": "sportskills-v2", "clips": ["abc-1", "abc-7"], "scores": [0.91, 0.88]}

Clips are listed best first; scores must not increase along the list (ties are
allowed: two clips can score the same). The file goes through the same two
passes as a gallery manifest: streamed in batches whose query and clip ids are
looked up with one query per batch, so a file of millions of lines needs
neither the whole file in memory nor a query per line; any wrong line and
nothing is written, unless ``skip_invalid`` imports the others.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from retrieval_backend.candidates.lines import CandidateLine, parse_candidate_line
from retrieval_backend.candidates.sets import store_candidate_sets
from retrieval_backend.importing.bulk import select_in
from retrieval_backend.importing.importer import ImportConflict, ImportResult, ManifestImport
from retrieval_backend.importing.manifest import ManifestLine
from retrieval_backend.importing.report import Issue
from retrieval_backend.models import CandidateSet, Clip, MistakeQuery, RetrievalMethod

IMPORTED_BACKEND = "imported"
# Unknown clips reported per line; a line from the wrong gallery would otherwise print k errors.
CLIP_ERRORS_PER_LINE = 3


class CandidateImport(ManifestImport[CandidateLine]):
    """Candidate sets from a file: each (query, method) line replaces the set stored for it before."""

    what = "candidate lines"
    request_options = ("skip_invalid", "create_methods")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (query pk, method name) -> the line that gave it, to report a ranking given twice. Lives for the run.
        self._seen: dict[tuple[int, str], int] = {}
        # Method name -> row (None: unknown) as the check found them, and as the write pass uses them.
        self._checked_methods: dict[str, RetrievalMethod | None] = {}
        self._methods: dict[str, RetrievalMethod] = {}
        self._known: str | None = None
        self.created_methods: list[str] = []

    def parse(self, line: ManifestLine) -> tuple[CandidateLine | None, list[Issue]]:
        return parse_candidate_line(line)

    def outcome(self, result: ImportResult) -> dict[str, Any]:
        return {
            "lines": result.lines,
            "sets": result.counts.get("sets", 0),
            "replaced": result.counts.get("replaced", 0),
            "created_methods": list(self.created_methods),
        }

    # --- first pass -------------------------------------------------------------

    def check_batch(self, entries: list[CandidateLine]) -> None:
        new = {e.method for e in entries if e.method} - self._checked_methods.keys()
        if new:
            found = {m.name: m for m in RetrievalMethod.objects.filter(name__in=new)}
            self._checked_methods.update({name: found.get(name) for name in new})
        query_ids = _pks(MistakeQuery, (e.query for e in entries if e.query))
        clip_ids = _pks(Clip, (clip for e in entries for clip in e.clips if clip))
        for entry in entries:
            self._check_line(entry, query_ids, clip_ids)

    def _check_line(self, entry: CandidateLine, query_ids: dict[str, int], clip_ids: dict[str, int]) -> None:
        line = entry.line
        query_pk = query_ids.get(entry.query)
        if query_pk is None and entry.query:
            self.fail(line, "query", f'unknown query "{entry.query}"; give a mistake query external id.')
        method_known = False
        if entry.method:
            problem = self._method_problem(entry.method)
            method_known = self._checked_methods.get(entry.method) is not None or (
                self.options.create_methods and not problem
            )
            if not method_known:
                self.fail(
                    line,
                    "method",
                    problem
                    or (
                        f'unknown method "{entry.method}"; existing methods: {self._known_methods()}. '
                        "Pass --create-methods to create it as an imported method."
                    ),
                )
        unknown = [(position, clip) for position, clip in enumerate(entry.clips) if clip and clip not in clip_ids]
        for position, clip in unknown[:CLIP_ERRORS_PER_LINE]:
            self.fail(line, f"clips[{position}]", f'unknown clip "{clip}".')
        if len(unknown) > CLIP_ERRORS_PER_LINE:
            self.fail(line, "clips", f"{len(unknown) - CLIP_ERRORS_PER_LINE} more unknown clips on this line.")
        if entry.whole and query_pk is not None and method_known:
            first = self._seen.setdefault((query_pk, entry.method), line)
            if first != line:
                self.fail(
                    line,
                    "query",
                    f'"{entry.query}" with method "{entry.method}" was already given on line {first}; '
                    "give each query and method once.",
                )

    def _method_problem(self, name: str) -> str:
        """Why ``name`` cannot be created as a method, or "" when it can (or creation is off)."""
        if not self.options.create_methods or self._checked_methods.get(name) is not None:
            return ""
        try:
            validate_slug(name)
        except ValidationError:
            return f'"{name}" cannot be a method name: use letters, digits, hyphens and underscores only.'
        if len(name) > RetrievalMethod._meta.get_field("name").max_length:
            return f'"{name}" is too long for a method name.'
        return ""

    def _known_methods(self) -> str:
        # Looked up once: a file naming a wrong method usually names it on every line.
        if self._known is None:
            names = list(RetrievalMethod.objects.order_by("name").values_list("name", flat=True)[:21])
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            self._known = shown or "none yet"
        return self._known

    # --- second pass ------------------------------------------------------------

    def before_write(self) -> None:
        self.count("sets", 0)
        self.count("replaced", 0)

    def write_batch(self, entries: list[CandidateLine]) -> None:
        query_ids = _pks(MistakeQuery, (e.query for e in entries))
        clip_ids = _pks(Clip, (clip for e in entries for clip in e.clips))
        by_method: dict[str, dict[int, list[tuple[int, float]]]] = {}
        for entry in entries:
            method = self._method_for_writing(entry)
            query_pk = query_ids.get(entry.query)
            gone = [f"clips[{p}]" for p, clip in enumerate(entry.clips) if clip not in clip_ids]
            if query_pk is None or gone:
                field_name = "query" if query_pk is None else gone[0]
                raise ImportConflict(Issue(entry.line, field_name, "was deleted while the file was being checked"))
            ranking = [(clip_ids[clip], score) for clip, score in zip(entry.clips, entry.scores, strict=True)]
            by_method.setdefault(method.name, {})[query_pk] = ranking
        for name, rankings in by_method.items():
            method = self._methods[name]
            self.count("replaced", CandidateSet.objects.filter(method=method, query_id__in=rankings).count())
            self.count("sets", store_candidate_sets(method, rankings, source=CandidateSet.Source.IMPORTED))

    def _method_for_writing(self, entry: CandidateLine) -> RetrievalMethod:
        """The line's method, created now (inside the import's transaction) when the file may create it."""
        name = entry.method
        if name in self._methods:
            return self._methods[name]
        method = RetrievalMethod.objects.filter(name=name).first()
        if method is None:
            if not self.options.create_methods:
                raise ImportConflict(Issue(entry.line, "method", "was deleted while the file was being checked"))
            method = RetrievalMethod.objects.create(
                name=name,
                backend=IMPORTED_BACKEND,
                description=f"Candidates imported from {self.source_name}.",
            )
            self.created_methods.append(name)
        self._methods[name] = method
        return method


def _pks(model: type[MistakeQuery] | type[Clip], external_ids: Any) -> dict[str, int]:
    """external id -> pk for the ids that exist, in a few large IN queries (one per 5,000 ids)."""
    return dict(select_in(model, ["external_id", "id"], "external_id", external_ids))
