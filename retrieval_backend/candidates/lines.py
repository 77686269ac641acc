"""Reading one line of a candidates file: its shape, before any id is looked up.

A line is ``{"query": ..., "method": ..., "clips": [...], "scores": [...]}`` and
nothing else. Every field that is wrong is reported, not just the first, each as
an ``Issue`` of the manifest framework, so a candidates file's problems read
like a gallery manifest's. Plain Python, no Django import.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from retrieval_backend.importing.fields import MAX_ID_CHARS, FieldReader, text_problem
from retrieval_backend.importing.manifest import ManifestLine
from retrieval_backend.importing.report import Issue

FIELDS = ("query", "method", "clips", "scores")


@dataclass
class CandidateLine:
    """One ranking: a query's clips from one method, best first, with their scores."""

    line: int
    query: str
    method: str
    clips: list[str]
    scores: list[float]
    # False for a line with shape errors: its well-formed ids ("" where none) are still looked up, so that
    # an unknown query, method or clip is reported in the same round as the shape errors, never later.
    whole: bool = True


def parse_candidate_line(line: ManifestLine) -> tuple[CandidateLine | None, list[Issue]]:
    """Check one line's shape; the entry holds its usable ids even when the issues say it is wrong."""
    if line.data is None:
        return None, list(line.issues)
    data: dict[str, Any] = line.data
    problems = FieldReader(line.number)
    for name in sorted(set(data) - set(FIELDS)):
        problems.fail(name, f"unexpected field; a line has only {', '.join(FIELDS)}.")
    for name in FIELDS:
        if name not in data:
            problems.fail(name, "missing.")
    query, method, clips, scores = (data.get(name) for name in FIELDS)
    for name, value in (("query", query), ("method", method)):
        if name in data and (not isinstance(value, str) or not value.strip()):
            problems.fail(name, f"must be a non-empty string (an external id or name), not {_show(value)}.")
        elif name in data:
            _check_id(problems, name, value)
    if "clips" in data:
        _check_clips(problems, clips)
    if "scores" in data:
        _check_scores(problems, scores, clips if isinstance(clips, list) else None)
    if problems.issues:
        entry = CandidateLine(
            line.number,
            _well_formed(query),
            _well_formed(method),
            [_well_formed(c) for c in clips] if isinstance(clips, list) else [],  # positions kept
            [],
            whole=False,
        )
        return entry, problems.issues
    return CandidateLine(line.number, query.strip(), method.strip(), clips, [float(s) for s in scores]), []


def _well_formed(value: Any) -> str:
    """``value`` stripped when it is an id the database can hold (already checked and reported), else ""."""
    if not isinstance(value, str) or not value.strip() or text_problem(value) or len(value.strip()) > MAX_ID_CHARS:
        return ""
    return value.strip()


def _check_clips(problems: FieldReader, clips: Any) -> None:
    if not isinstance(clips, list):
        problems.fail("clips", f"must be a list of clip external ids, not {_show(clips)}.")
        return
    if not clips:
        problems.fail("clips", "is empty; list at least one clip, best first.")
        return
    first_seen: dict[str, int] = {}
    for position, clip in enumerate(clips):
        if not isinstance(clip, str) or not clip:
            problems.fail(f"clips[{position}]", f"must be a clip external id (a string), not {_show(clip)}.")
        elif not _check_id(problems, f"clips[{position}]", clip):
            continue
        elif clip in first_seen:
            problems.fail(f"clips[{position}]", f'"{clip}" is listed twice (first at clips[{first_seen[clip]}]).')
        else:
            first_seen[clip] = position


def _check_scores(problems: FieldReader, scores: Any, clips: list | None) -> None:
    if not isinstance(scores, list):
        problems.fail("scores", f"must be a list of numbers, one per clip, not {_show(scores)}.")
        return
    if clips is not None and len(scores) != len(clips):
        problems.fail("scores", f"{len(scores)} scores for {len(clips)} clips; give one score per clip.")
    previous: float | None = None
    for position, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, int | float) or not _finite(score):
            problems.fail(f"scores[{position}]", f"must be a finite number, not {_show(score)}.")
            previous = None
            continue
        if previous is not None and score > previous:
            problems.fail(
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


def _check_id(problems: FieldReader, field_name: str, value: str) -> bool:
    """An external id or method name the database can hold; report it and return False when not."""
    problem = text_problem(value)
    if problem is None and len(value.strip()) > MAX_ID_CHARS:
        problem = f"is {len(value.strip())} characters long; ids and names have at most {MAX_ID_CHARS}"
    if problem:
        problems.fail(field_name, f"{problem}.")
        return False
    return True


def _show(value: Any) -> str:
    # NaN and Infinity arrive as floats (the manifest reader names the field that holds them); JSON spells them so.
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
