"""The coach's answer to a task, from what a client sent (in screen terms) to a recorded judgement.

The task page and the coach API both call ``answer_task`` and only translate its
outcome: the page into a message, a re-rendered form or the next item; the API into
an HTTP status. Every rule of answering lives here or below it
(``annotations.coach.judging``, the task kinds), so the two can't drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext

from annotations.coach.judging import Answer, JudgementError, submit
from annotations.coach.kinds import SIDE_NAMES
from annotations.coach.screen import attach_clips, sides_of, unwatched_sides, watch_by_stored_key
from annotations.models import Judgement
from studies.assignment import AssignmentError
from studies.models import Assignment


@dataclass(frozen=True)
class Submission:
    """An answer as a client sends it, with how long each screen side played."""

    answer: Answer
    # Media milliseconds each screen side played, as the client counted them.
    watch_by_side: dict[str, int] = field(default_factory=dict)
    # A malformed field found while reading the form, worded for the coach; empty when well formed.
    problem: str = ""


@dataclass(frozen=True)
class Answered:
    judgement: Judgement
    # False when the task had been answered already (a resent form): nothing changed.
    created: bool


class AnswerRefused(JudgementError):
    """The answer can't be recorded as sent; ``field`` names what to change (``watch_ms`` or the answer)."""

    def __init__(self, message: str, field: str = "non_field_errors"):
        super().__init__(message)
        self.field = field


class StudyClosed(AssignmentError):
    """The study no longer records answers."""


def answer_task(coach: AbstractBaseUser, assignment: Assignment, sent: Submission) -> Answered:
    """Record ``sent`` as the coach's answer to ``assignment`` (their own, loaded with its screen).

    Raises ``StudyClosed``, ``AnswerRefused`` (what to change), ``JudgementError`` (the answer
    doesn't fit the item) or ``AssignmentError`` (the reservation lapsed and others judged it).
    """
    study, item = assignment.study, assignment.item
    if assignment.status == Assignment.Status.DONE:
        # The same answer sent twice (a double click, a resent form): the first one stands.
        return Answered(Judgement.objects.get(assignment=assignment), created=False)
    if not study.accepts_answers:
        raise StudyClosed(gettext("This study is closed; answers are no longer recorded."))
    if sent.problem:
        raise AnswerRefused(sent.problem)
    sides = sides_of(item)
    unknown = sorted(set(sent.watch_by_side) - set(sides))
    if unknown:
        raise AnswerRefused(
            gettext("This item has no side %(unknown)s: use %(sides)s.")
            % {"unknown": ", ".join(unknown), "sides": ", ".join(sides)},
            field="watch_ms",
        )
    if study.require_full_watch and not sent.answer.flag:
        short = unwatched_sides(attach_clips(assignment).item, sent.watch_by_side)
        if short:
            names = gettext(" and ").join(str(SIDE_NAMES[side]) for side in short)
            raise AnswerRefused(
                gettext(
                    "This study asks you to play every video to its end before answering. "
                    "Still to watch: %(names)s. If a video does not play, flag the item instead."
                )
                % {"names": names},
                field="watch_ms",
            )
    answer = replace(sent.answer, watch_ms=watch_by_stored_key(item, sent.watch_by_side))
    judgement, created = submit(coach, assignment.token, answer)
    return Answered(judgement, created)


def differs_from_recorded(sent: Submission, judgement: Judgement) -> bool:
    """Whether a resent answer asks for something else than the recorded one (flags never count as a change)."""
    if judgement.flag or sent.answer.flag:
        return False
    return (sent.answer.choice, sent.answer.score) != (judgement.choice, judgement.score)
