"""Reading a coach's answer from a posted task form.

Only the shape is read here (is the score a number, are watch times numbers); the
task kind reads its own fields, and what the answer may be is checked by
``annotations.coach.answering`` and the kind, so the page and the API refuse the
same things with the same words.
"""

from __future__ import annotations

from django.http import QueryDict

from annotations.coach.answering import Submission
from annotations.coach.judging import Answer
from annotations.coach.kinds import kind_of
from studies.models import Item, Study


def _int_or_none(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def read_answer(post: QueryDict, item: Item, study: Study) -> Submission:
    kind = kind_of(item)
    choice, score, problem = kind.read_form(post, study)
    watch = {}
    for side in kind.sides:
        ms = _int_or_none(post.get(f"watch_{side}"))
        if ms is not None:
            watch[side] = max(0, ms)
    answer = Answer(choice=choice, score=score, rationale=post.get("rationale", ""), flag=post.get("flag", ""))
    return Submission(answer, watch_by_side=watch, problem=problem)
