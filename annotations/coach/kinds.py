"""Task kinds: what each kind of item shows a coach and what answer it takes.

A kind is the one place that knows its screen sides, its question, the answer's
fields (read from a form, checked against the study's design, stored on the
judgement) and the template of its answer panel. The page, the API and
``annotations.coach.judging`` ask the kind and never branch on it, so adding a
third kind means writing a ``TaskKind`` subclass and its template, then
registering it in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext, gettext_lazy

from studies.models import Item, Study

# Screen sides: a coach's page names videos only by their place on the screen.
QUERY, LEFT, RIGHT, CLIP = "query", "left", "right", "clip"

# Lazy: read in the language of the request that shows them.
SIDE_NAMES = {
    QUERY: gettext_lazy("the athlete's execution"),
    LEFT: gettext_lazy("the left clip"),
    RIGHT: gettext_lazy("the right clip"),
    CLIP: gettext_lazy("the clip"),
}
SIDE_LABELS = {
    QUERY: gettext_lazy("Athlete's execution"),
    LEFT: gettext_lazy("Left clip"),
    RIGHT: gettext_lazy("Right clip"),
    CLIP: gettext_lazy("Clip"),
}


class AnswerProblem(ValueError):
    """An answer that doesn't fit the item or the study's design; the message says what to choose instead."""


@dataclass(frozen=True)
class Option:
    """One answer a coach can pick: its stored value, the key that picks it, and its label."""

    value: str
    key: str  # the digit that picks it, or "" when no single key does
    label: str


@dataclass(frozen=True)
class Stored:
    """The kind's answer as the judgement stores it."""

    choice: str = ""
    winner: str = ""
    score: int | None = None


class TaskKind:
    """The base of every kind; subclasses set the attributes and override the methods."""

    name: str
    sides: tuple[str, ...]
    # The template that draws the kind's clips and answer fields, inside the task and revise forms.
    template: str

    def question(self, study: Study) -> str:
        raise NotImplementedError

    def options(self, study: Study) -> list[Option]:
        """What the coach picks from, in key order."""
        raise NotImplementedError

    def read_form(self, post: Mapping[str, str], study: Study) -> tuple[str, int | None, str]:
        """(choice, score, problem) from a posted form; ``problem`` is a malformed field, worded for the coach."""
        raise NotImplementedError

    def check(self, choice: str, score: int | None, study: Study) -> None:
        """Raise ``AnswerProblem`` unless the answer fits this kind and the study's design."""
        raise NotImplementedError

    def stored(self, choice: str, score: int | None, item: Item) -> Stored:
        raise NotImplementedError


class PairwiseTask(TaskKind):
    """Two clips side by side: which helps more? The answer is a screen position, stored as the winning clip."""

    name = Item.Kind.PAIRWISE
    sides = (QUERY, LEFT, RIGHT)
    template = "annotations/kinds/pairwise.html"
    CHOICES = (
        Option("left", "1", gettext_lazy("Left helps more")),
        Option("right", "2", gettext_lazy("Right helps more")),
        Option("equal", "3", gettext_lazy("Equally helpful")),
        Option("neither", "4", gettext_lazy("Neither helps")),
    )
    # Screen choice -> stored winner, for an item shown as stored (A on the left) and swapped (A on the right).
    _WINNER = {
        False: {"left": "a", "right": "b", "equal": "tie", "neither": "neither"},
        True: {"left": "b", "right": "a", "equal": "tie", "neither": "neither"},
    }

    def question(self, study: Study) -> str:
        return study.pairwise_question

    def options(self, study: Study) -> list[Option]:
        return list(self.CHOICES)

    def read_form(self, post: Mapping[str, str], study: Study) -> tuple[str, int | None, str]:
        return post.get("choice", ""), None, ""

    def check(self, choice: str, score: int | None, study: Study) -> None:
        if choice not in {option.value for option in self.CHOICES}:
            raise AnswerProblem(gettext("Choose left, right, equally helpful or neither helps."))
        if score is not None:
            raise AnswerProblem(gettext("A pairwise item takes a choice, not a score."))

    def stored(self, choice: str, score: int | None, item: Item) -> Stored:
        return Stored(choice=choice, winner=self.winner(choice, item.swapped))

    def winner(self, choice: str, swapped: bool) -> str:
        return self._WINNER[swapped][choice]


class LikertTask(TaskKind):
    """One clip: how helpful is it, on the study's scale?"""

    name = Item.Kind.LIKERT
    sides = (QUERY, CLIP)
    template = "annotations/kinds/likert.html"

    def question(self, study: Study) -> str:
        return study.likert_question

    def options(self, study: Study) -> list[Option]:
        labels = {str(k): str(v) for k, v in (study.scale_labels or {}).items()}
        points = []
        for value in study.scale_points():
            if 0 <= value <= 9:
                key = str(value)
            elif value == 10 and study.scale_min > 0:
                key = "0"  # 1..10 scales: 0 stands for 10, as on a phone keypad
            else:
                key = ""
            points.append(Option(str(value), key, labels.get(str(value), "")))
        return points

    def read_form(self, post: Mapping[str, str], study: Study) -> tuple[str, int | None, str]:
        raw = (post.get("score") or "").strip()
        if not raw:
            return "", None, ""
        try:
            return "", int(raw), ""
        except ValueError:
            return (
                "",
                None,
                gettext("%(raw)r is not a score: choose a number from %(low)s to %(high)s.")
                % {"raw": raw, "low": study.scale_min, "high": study.scale_max},
            )

    def check(self, choice: str, score: int | None, study: Study) -> None:
        if choice:
            raise AnswerProblem(gettext("A Likert item takes a score, not a choice."))
        if score is None:
            raise AnswerProblem(
                gettext("Choose a score from %(low)s to %(high)s.") % {"low": study.scale_min, "high": study.scale_max}
            )
        if not study.scale_min <= score <= study.scale_max:
            raise AnswerProblem(
                gettext("%(score)s is outside this study's scale: choose from %(low)s to %(high)s.")
                % {"score": score, "low": study.scale_min, "high": study.scale_max}
            )

    def stored(self, choice: str, score: int | None, item: Item) -> Stored:
        return Stored(score=score)


KINDS: dict[str, TaskKind] = {kind.name: kind for kind in (PairwiseTask(), LikertTask())}


def kind_named(name: str) -> TaskKind:
    return KINDS[name]


def kind_of(item: Item) -> TaskKind:
    return KINDS[item.kind]
