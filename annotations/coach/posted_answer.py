"""Reading a coach's answer from a posted task form.

Only the shape is checked here (is the score a number, are watch times numbers):
what the answer may be (the scale, the choices, flags) is ``annotations.coach.judging``'s
rule, so the page and the API refuse the same things with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import QueryDict

from annotations.coach.judging import Answer
from annotations.coach.screen import sides_of
from studies.models import Item, Study


@dataclass(frozen=True)
class PostedAnswer:
    answer: Answer
    # Media milliseconds each screen side played, as the page counted them.
    watch_by_side: dict[str, int] = field(default_factory=dict)
    # A malformed field, worded for the coach; empty when the form is well formed.
    problem: str = ""


def _int_or_none(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def read_answer(post: QueryDict, item: Item, study: Study) -> PostedAnswer:
    problem = ""
    score = None
    if item.kind == Item.Kind.LIKERT:
        raw = post.get("score", "")
        score = _int_or_none(raw)
        if raw.strip() and score is None:
            problem = f"{raw.strip()!r} is not a score: choose a number from {study.scale_min} to {study.scale_max}."
    watch = {}
    for side in sides_of(item):
        ms = _int_or_none(post.get(f"watch_{side}"))
        if ms is not None:
            watch[side] = max(0, ms)
    answer = Answer(
        choice=post.get("choice", "") if item.kind == Item.Kind.PAIRWISE else "",
        score=score,
        rationale=post.get("rationale", ""),
        flag=post.get("flag", ""),
    )
    return PostedAnswer(answer=answer, watch_by_side=watch, problem=problem)
