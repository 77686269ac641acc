"""Importing candidates computed elsewhere (a research cluster) from JSON Lines.

One line per query and method, with external ids::

    {"query": "q-17", "method": "sportskills-v2", "clips": ["abc-1", "abc-7"], "scores": [0.91, 0.88]}

Clips are listed best first; scores must not increase along the list (ties are
allowed: two clips can score the same). The file is read as a stream, in
batches of lines whose query and clip ids are looked up with one query per
batch, so a file of millions of lines needs neither the whole file in memory
nor a query per line. Everything is written in one transaction that is rolled
back when any line is wrong: a file is imported whole or not at all, and every
wrong line is reported as ``LINE: FIELD: what is wrong``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from retrieval_backend.candidates.sets import store_candidate_sets
from retrieval_backend.importing.fields import MAX_ID_CHARS, text_problem
from retrieval_backend.models import CandidateSet, Clip, MistakeQuery, RetrievalMethod

IMPORTED_BACKEND = "imported"
FIELDS = ("query", "method", "clips", "scores")
LINES_PER_BATCH = 1000
# Ids per IN (...) lookup: well under SQLite's bound-parameter limit.
IDS_PER_LOOKUP = 5000
# Unknown clips reported per line; a line from the wrong gallery would otherwise print k errors.
CLIP_ERRORS_PER_LINE = 3
KEPT_ERRORS = 1000
# A line is one ranking of at most MAX_K clips (well under a megabyte); a longer one is a broken file,
# and is skipped in chunks rather than read into memory whole.
MAX_LINE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    """What an import did or would have done: sets written, methods created, and the errors found."""

    lines: int = 0
    sets: int = 0
    replaced: int = 0
    created_methods: list[str] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, line: int, field_name: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < KEPT_ERRORS:
            self.errors.append(LineError(line, field_name, message))


@dataclass
class _Line:
    number: int
    query: str
    method: str
    clips: list[str]
    scores: list[float]
    # False for a line with shape errors: its well-formed ids ("" where none) are still looked up, so that
    # an unknown query, method or clip is reported in the same round as the shape errors, never later.
    whole: bool = True


@dataclass(frozen=True)
class _OverLongLine:
    size: int


class _Rejected(Exception):
    """Raised inside the import's transaction to roll it back when any line was wrong."""


def import_candidates(
    lines: Iterable[bytes | str],
    *,
    create_methods: bool = False,
    source_name: str = "",
) -> ImportReport:
    """Validate and import candidate lines; nothing is written unless every line is valid.

    ``lines`` is an open binary file (read a line at a time, each at most
    ``MAX_LINE_BYTES``) or any iterable of lines. ``create_methods`` creates a
    method named in the file that does not exist yet, with backend ``imported``;
    without it an unknown method is an error.
    """
    report = ImportReport()
    if hasattr(lines, "readline"):
        lines = _bounded_lines(lines, MAX_LINE_BYTES)
    importer = _Importer(report, create_methods=create_methods, source_name=source_name)
    try:
        with transaction.atomic():
            for batch in _batches(_parse(lines, report), LINES_PER_BATCH):
                importer.import_batch(batch)
            if not report.ok:
                raise _Rejected
    except _Rejected:
        report.sets = report.replaced = 0
        report.created_methods = []
        # Shape errors are found while reading and id errors once per batch: put them back in line order.
        report.errors.sort(key=lambda error: error.line)
    return report


def _batches(items: Iterator[_Line], size: int) -> Iterator[list[_Line]]:
    batch: list[_Line] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bounded_lines(stream: Any, max_bytes: int) -> Iterator[bytes | str | _OverLongLine]:
    """The stream's lines; one longer than ``max_bytes`` comes out as its size only, never read whole."""
    while raw := stream.readline(max_bytes + 1):
        if len(raw) <= max_bytes or raw.endswith(b"\n" if isinstance(raw, bytes) else "\n"):
            yield raw
            continue
        size = len(raw)
        while chunk := stream.readline(1 << 20):
            size += len(chunk)
            if chunk.endswith(b"\n" if isinstance(chunk, bytes) else "\n"):
                break
        yield _OverLongLine(size)


def _parse(lines: Iterable[bytes | str | _OverLongLine], report: ImportReport) -> Iterator[_Line]:
    """Yield the lines whose shape is right; report the others."""
    for number, raw in enumerate(lines, start=1):
        report.lines = number
        if isinstance(raw, _OverLongLine):
            report.add_error(
                number,
                "line",
                f"is {raw.size} bytes long; a line holds one ranking and at most {MAX_LINE_BYTES} bytes. "
                "Is the file JSON Lines (one object per line)?",
            )
            continue
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.add_error(number, "line", f"not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8.")
                continue
        else:
            text = raw
        text = text.strip()
        if not text:
            continue
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            detail = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            report.add_error(number, "line", f"not valid JSON: {detail}.")
            continue
        except RecursionError:
            report.add_error(number, "line", "not valid JSON here: it is nested too deeply.")
            continue
        parsed = _check_shape(number, data, report)
        if parsed is not None:
            yield parsed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; scores must be finite")


def _check_shape(number: int, data: Any, report: ImportReport) -> _Line | None:
    if not isinstance(data, dict):
        report.add_error(
            number, "line", 'expected a JSON object such as {"query": "q-1", "method": "m", "clips": [], "scores": []}.'
        )
        return None
    before = report.error_count
    for name in sorted(set(data) - set(FIELDS)):
        report.add_error(number, name, f"unexpected field; a line has only {', '.join(FIELDS)}.")
    for name in FIELDS:
        if name not in data:
            report.add_error(number, name, "missing.")
    query, method, clips, scores = (data.get(name) for name in FIELDS)
    for name, value in (("query", query), ("method", method)):
        if name in data and (not isinstance(value, str) or not value.strip()):
            report.add_error(number, name, f"must be a non-empty string (an external id or name), not {_show(value)}.")
        elif name in data:
            _check_id(number, name, value, report)
    if "clips" in data:
        _check_clips(number, clips, report)
    if "scores" in data:
        _check_scores(number, scores, clips if isinstance(clips, list) else None, report)
    if report.error_count > before:
        return _Line(
            number,
            _well_formed(query),
            _well_formed(method),
            [_well_formed(c) for c in clips] if isinstance(clips, list) else [],  # positions kept
            [],
            whole=False,
        )
    return _Line(number, query.strip(), method.strip(), clips, [float(s) for s in scores])


def _well_formed(value: Any) -> str:
    """``value`` stripped when it is an id the database can hold (already checked and reported), else ""."""
    if not isinstance(value, str) or not value.strip() or text_problem(value) or len(value.strip()) > MAX_ID_CHARS:
        return ""
    return value.strip()


def _check_clips(number: int, clips: Any, report: ImportReport) -> None:
    if not isinstance(clips, list):
        report.add_error(number, "clips", f"must be a list of clip external ids, not {_show(clips)}.")
        return
    if not clips:
        report.add_error(number, "clips", "is empty; list at least one clip, best first.")
        return
    first_seen: dict[str, int] = {}
    for position, clip in enumerate(clips):
        if not isinstance(clip, str) or not clip:
            report.add_error(number, f"clips[{position}]", f"must be a clip external id (a string), not {_show(clip)}.")
        elif not _check_id(number, f"clips[{position}]", clip, report):
            continue
        elif clip in first_seen:
            report.add_error(
                number, f"clips[{position}]", f'"{clip}" is listed twice (first at clips[{first_seen[clip]}]).'
            )
        else:
            first_seen[clip] = position


def _check_scores(number: int, scores: Any, clips: list | None, report: ImportReport) -> None:
    if not isinstance(scores, list):
        report.add_error(number, "scores", f"must be a list of numbers, one per clip, not {_show(scores)}.")
        return
    if clips is not None and len(scores) != len(clips):
        report.add_error(number, "scores", f"{len(scores)} scores for {len(clips)} clips; give one score per clip.")
    previous: float | None = None
    for position, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, int | float) or not _finite(score):
            report.add_error(number, f"scores[{position}]", f"must be a finite number, not {_show(score)}.")
            previous = None
            continue
        if previous is not None and score > previous:
            report.add_error(
                number,
                f"scores[{position}]",
                f"{score} is higher than the score before it ({previous}); list clips best first, "
                "with scores that never increase (ties are fine).",
            )
        previous = score


def _finite(number: int | float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an integer beyond any float
        return False


def _check_id(number: int, field_name: str, value: str, report: ImportReport) -> bool:
    """An external id or method name the database can hold; report it and return False when not."""
    problem = text_problem(value)
    if problem is None and len(value.strip()) > MAX_ID_CHARS:
        problem = f"is {len(value.strip())} characters long; ids and names have at most {MAX_ID_CHARS}"
    if problem:
        report.add_error(number, field_name, f"{problem}.")
        return False
    return True


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Importer:
    """Resolves a batch's external ids, checks what needs the database, and writes valid batches."""

    def __init__(self, report: ImportReport, *, create_methods: bool, source_name: str):
        self.report = report
        self.create_methods = create_methods
        self.source_name = source_name
        self.methods: dict[str, RetrievalMethod | None] = {}
        # (query pk, method pk) -> the line that gave it, to report duplicates.
        self.seen: dict[tuple[int, int], int] = {}
        self._known: str | None = None

    def import_batch(self, batch: list[_Line]) -> None:
        self._load_methods({line.method for line in batch if line.method})
        query_ids = _lookup(MistakeQuery, {line.query for line in batch if line.query})
        clip_ids = _lookup(Clip, {clip for line in batch for clip in line.clips if clip})
        by_method: dict[int, dict[int, list[tuple[int, float]]]] = {}
        for line in batch:
            ranking = self._resolve(line, query_ids, clip_ids)
            if ranking is not None:
                query_pk, method, ranked = ranking
                by_method.setdefault(method.pk, {})[query_pk] = ranked
        # After the first error nothing more is written: the transaction will be rolled back anyway.
        if not self.report.ok:
            return
        for method_pk, rankings in by_method.items():
            method = next(m for m in self.methods.values() if m is not None and m.pk == method_pk)
            self.report.replaced += CandidateSet.objects.filter(method=method, query_id__in=rankings).count()
            self.report.sets += store_candidate_sets(method, rankings, source=CandidateSet.Source.IMPORTED)

    def _resolve(
        self, line: _Line, query_ids: dict[str, int], clip_ids: dict[str, int]
    ) -> tuple[int, RetrievalMethod, list[tuple[int, float]]] | None:
        report = self.report
        before = report.error_count
        query_pk = query_ids.get(line.query)
        if query_pk is None and line.query:
            report.add_error(line.number, "query", f'unknown query "{line.query}"; give a mistake query external id.')
        method = self.methods.get(line.method)
        if method is None and line.method:
            hint = self._method_problem(line.method) or (
                f'unknown method "{line.method}"; existing methods: {self._known_methods()}. '
                "Pass --create-methods to create it as an imported method."
            )
            report.add_error(line.number, "method", hint)
        unknown = [(position, clip) for position, clip in enumerate(line.clips) if clip and clip not in clip_ids]
        for position, clip in unknown[:CLIP_ERRORS_PER_LINE]:
            report.add_error(line.number, f"clips[{position}]", f'unknown clip "{clip}".')
        if len(unknown) > CLIP_ERRORS_PER_LINE:
            report.add_error(
                line.number, "clips", f"{len(unknown) - CLIP_ERRORS_PER_LINE} more unknown clips on this line."
            )
        if not line.whole:
            return None  # its shape errors are reported already
        if query_pk is not None and method is not None:
            first = self.seen.setdefault((query_pk, method.pk), line.number)
            if first != line.number:
                report.add_error(
                    line.number,
                    "query",
                    f'"{line.query}" with method "{line.method}" was already given on line {first}; '
                    "give each query and method once.",
                )
        if report.error_count > before:
            return None
        return query_pk, method, [(clip_ids[c], s) for c, s in zip(line.clips, line.scores, strict=True)]

    def _load_methods(self, names: set[str]) -> None:
        new = names - set(self.methods)
        if not new:
            return
        found = {m.name: m for m in RetrievalMethod.objects.filter(name__in=new)}
        for name in sorted(new):
            method = found.get(name)
            if method is None and self.create_methods and not self._method_problem(name):
                method = RetrievalMethod.objects.create(
                    name=name,
                    backend=IMPORTED_BACKEND,
                    description=f"Candidates imported from {self.source_name or 'a file'}.",
                )
                self.report.created_methods.append(name)
            self.methods[name] = method

    def _method_problem(self, name: str) -> str:
        """Why ``name`` cannot be created as a method, or "" when it can (or creation is off)."""
        if not self.create_methods:
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


def _lookup(model: type[MistakeQuery] | type[Clip], external_ids: set[str]) -> dict[str, int]:
    """external id -> pk for the ids that exist, a few large IN queries at most."""
    ordered = sorted(external_ids)
    found: dict[str, int] = {}
    for start in range(0, len(ordered), IDS_PER_LOOKUP):
        chunk = ordered[start : start + IDS_PER_LOOKUP]
        found.update(model.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
    return found
