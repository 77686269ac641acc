"""Recording, flagging and revising judgements, with the rules every client (page or API) shares."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from annotations.models import Judgement, JudgementRevision
from annotations.research.reports import report_is_stale
from studies.assignment import AssignmentError, complete_assignment, flag_assignment, lock_assignment
from studies.models import Item, Study

# Screen choice -> stored winner, for an item shown as stored (a left) and swapped (a right).
_WINNER = {
    False: {"left": "a", "right": "b", "equal": "tie", "neither": "neither"},
    True: {"left": "b", "right": "a", "equal": "tie", "neither": "neither"},
}
MAX_RATIONALE = 5000
MAX_WATCH_MS = 24 * 3600 * 1000
REVISABLE_LAST = 20


class JudgementError(AssignmentError):
    """An answer that can't be recorded as given, with what to do instead."""


@dataclass(frozen=True)
class Answer:
    choice: str = ""
    score: int | None = None
    rationale: str = ""
    flag: str = ""
    watch_ms: dict[str, int] | None = None


def winner_for(choice: str, swapped: bool) -> str:
    return _WINNER[swapped][choice]


def _check(answer: Answer, item: Item, study: Study) -> None:
    if answer.flag:
        if answer.flag not in Judgement.Flag.values or answer.flag == "":
            raise JudgementError(f"Unknown flag {answer.flag!r}: use one of {', '.join(Judgement.Flag.values[1:])}.")
        return
    if item.kind == Item.Kind.PAIRWISE:
        if answer.choice not in Judgement.Choice.values:
            raise JudgementError("Choose left, right, equally helpful or neither helps.")
        if answer.score is not None:
            raise JudgementError("A pairwise item takes a choice, not a score.")
    else:
        if answer.choice:
            raise JudgementError("A Likert item takes a score, not a choice.")
        if answer.score is None:
            raise JudgementError(f"Choose a score from {study.scale_min} to {study.scale_max}.")
        if not study.scale_min <= answer.score <= study.scale_max:
            raise JudgementError(
                f"{answer.score} is outside this study's scale: choose from {study.scale_min} to {study.scale_max}."
            )
    if len(answer.rationale) > MAX_RATIONALE:
        raise JudgementError(f"The rationale is too long: keep it under {MAX_RATIONALE} characters.")


def _clean_watch(watch_ms: dict[str, int] | None) -> dict[str, int]:
    clean: dict[str, int] = {}
    for key, value in (watch_ms or {}).items():
        if key in {"query", "a", "b"} and isinstance(value, int) and not isinstance(value, bool):
            clean[key] = max(0, min(value, MAX_WATCH_MS))
    return clean


def submit(coach: AbstractBaseUser, token: str, answer: Answer) -> tuple[Judgement, bool]:
    """Record the coach's answer for their reservation ``token``. Returns (judgement, created).

    Submitting the same reservation twice records one judgement and returns it.
    """
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(token, coach)
        study, item = assignment.study, assignment.item
        if study.status not in {Study.Status.LIVE, Study.Status.PAUSED}:
            raise JudgementError("This study is closed; answers are no longer recorded.")
        _check(answer, item, study)
        judgement = Judgement(
            assignment=assignment,
            study=study,
            item=item,
            coach=coach,
            kind=item.kind,
            choice="" if answer.flag else answer.choice,
            winner=winner_for(answer.choice, item.swapped) if answer.choice and not answer.flag else "",
            score=None if answer.flag else answer.score,
            rationale=answer.rationale.strip(),
            flag=answer.flag,
            watch_ms=_clean_watch(answer.watch_ms),
            server_ms=max(0, int((now - assignment.reserved).total_seconds() * 1000)),
        )
        record = flag_assignment if answer.flag else complete_assignment
        # The judgement is written with the completion (one statement on PostgreSQL), or not at all.
        done = record(assignment, now=now, record=judgement)
        if not done.created:
            return Judgement.objects.get(assignment=done.assignment), False
        # The study report is recomputed by a worker, debounced; a broker hiccup must not fail the coach's request.
        transaction.on_commit(partial(report_is_stale, study.pk), robust=True)
    return judgement, True


def revisable(judgement: Judgement) -> bool:
    """A coach may revise one of their last judgements while the study is live (flags can't be revised)."""
    if judgement.flag or judgement.study.status != Study.Status.LIVE:
        return False
    newest_first = Judgement.objects.filter(coach_id=judgement.coach_id).order_by("-created", "-pk")
    recent = newest_first.values_list("pk", flat=True)
    return judgement.pk in set(recent[:REVISABLE_LAST])


def revise(coach: AbstractBaseUser, judgement_id: int, answer: Answer) -> Judgement:
    """Change an answer, keeping the old one in the revision history."""
    with transaction.atomic():
        judgement = (
            Judgement.objects.select_for_update(of=("self",))
            .select_related("item", "study")
            .filter(pk=judgement_id, coach=coach)
            .first()
        )
        if judgement is None:
            raise JudgementError("There is no such judgement of yours.")
        if not revisable(judgement):
            raise JudgementError("Only your recent answers in a live study can be revised.")
        if answer.flag:
            raise JudgementError("A judgement can't be turned into a flag; answer it instead.")
        _check(answer, judgement.item, judgement.study)
        JudgementRevision.objects.create(
            judgement=judgement,
            revision=judgement.revision,
            choice=judgement.choice,
            winner=judgement.winner,
            score=judgement.score,
            rationale=judgement.rationale,
            recorded=judgement.revised or judgement.created,
        )
        judgement.choice = answer.choice
        judgement.winner = winner_for(answer.choice, judgement.item.swapped) if answer.choice else ""
        judgement.score = answer.score
        judgement.rationale = answer.rationale.strip()
        judgement.revision += 1
        judgement.revised = timezone.now()
        judgement.save(update_fields=["choice", "winner", "score", "rationale", "revision", "revised"])
        transaction.on_commit(partial(report_is_stale, judgement.study_id), robust=True)
    return judgement
