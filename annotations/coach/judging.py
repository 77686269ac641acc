"""Recording, flagging and revising judgements, with the rules every client (page or API) shares.

What an answer may be is its task kind's rule (``annotations.coach.kinds``); which
answers may still change is ``revisable_ids``/``may_revise``; the study's status
rules are ``Study.accepts_answers`` and ``Study.accepts_revisions``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotations.coach.kinds import AnswerProblem, PairwiseTask, kind_of
from annotations.models import Judgement, JudgementRevision
from annotations.research.reports import report_is_stale
from studies.assignment import AssignmentError, complete_assignment, flag_assignment, lock_assignment
from studies.models import Item, Study

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
    return PairwiseTask().winner(choice, swapped)


def _check(answer: Answer, item: Item, study: Study) -> None:
    if answer.flag:
        if answer.flag not in Judgement.Flag.values or answer.flag == "":
            raise JudgementError(
                gettext("Unknown flag %(flag)r: use one of %(flags)s.")
                % {"flag": answer.flag, "flags": ", ".join(Judgement.Flag.values[1:])}
            )
        return
    try:
        kind_of(item).check(answer.choice, answer.score, study)
    except AnswerProblem as problem:
        raise JudgementError(str(problem)) from None
    if len(answer.rationale) > MAX_RATIONALE:
        raise JudgementError(
            gettext("The rationale is too long: keep it under %(limit)s characters.") % {"limit": MAX_RATIONALE}
        )


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
        if not study.accepts_answers:
            raise JudgementError(gettext("This study is closed; answers are no longer recorded."))
        _check(answer, item, study)
        stored = kind_of(item).stored(answer.choice, answer.score, item) if not answer.flag else None
        judgement = Judgement(
            assignment=assignment,
            study=study,
            item=item,
            coach=coach,
            kind=item.kind,
            choice=stored.choice if stored else "",
            winner=stored.winner if stored else "",
            score=stored.score if stored else None,
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
        # A lambda, not functools.partial: Django logs a failed robust hook by its __qualname__, which partial lacks.
        transaction.on_commit(lambda: report_is_stale(study.pk), robust=True)
    return judgement, True


def revisable_ids(coach_id: int) -> set[int]:
    """The coach's last ``REVISABLE_LAST`` judgements, newest first (the id breaks timestamp ties)."""
    newest_first = Judgement.objects.filter(coach_id=coach_id).order_by("-created", "-pk")
    return set(newest_first.values_list("pk", flat=True)[:REVISABLE_LAST])


def may_revise(judgement: Judgement, recent_ids: set[int]) -> bool:
    """A coach may revise one of their recent judgements while the study is live; flags can't be revised.

    ``recent_ids`` is ``revisable_ids(coach)``, read once for a whole page of judgements.
    """
    return judgement.pk in recent_ids and not judgement.flag and judgement.study.accepts_revisions


def revisable(judgement: Judgement) -> bool:
    return may_revise(judgement, revisable_ids(judgement.coach_id))


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
            raise JudgementError(gettext("There is no such judgement of yours."))
        if not revisable(judgement):
            raise JudgementError(gettext("Only your recent answers in a live study can be revised."))
        if answer.flag:
            raise JudgementError(gettext("A judgement can't be turned into a flag; answer it instead."))
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
        stored = kind_of(judgement.item).stored(answer.choice, answer.score, judgement.item)
        judgement.choice, judgement.winner, judgement.score = stored.choice, stored.winner, stored.score
        judgement.rationale = answer.rationale.strip()
        judgement.revision += 1
        judgement.revised = timezone.now()
        judgement.save(update_fields=["choice", "winner", "score", "rationale", "revision", "revised"])
        transaction.on_commit(lambda: report_is_stale(judgement.study_id), robust=True)
    return judgement
