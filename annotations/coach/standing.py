"""A coach's standing in their studies: which they may open, how far they are, and why they are done.

Nothing here reserves an item: the home page and the done page only read. The
assignment engine (``studies.assignment``) is the one place that hands items out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.utils.translation import gettext

from studies.assignment import AssignmentError, is_eligible, next_assignment_for
from studies.models import Assignment, Item, Participation, Study

# Studies a coach may see: open ones, and closed ones so old links explain themselves.
VISIBLE = (Study.Status.LIVE, Study.Status.PAUSED, Study.Status.CLOSED)
# Studies on a coach's home page: those that still record answers.
# The open-items count is for a progress bar, not an invariant: a minute old is fine,
# and it keeps a COUNT over a 100,000-item study off every page view.
OPEN_ITEMS_CACHE_S = 60


@dataclass(frozen=True)
class Progress:
    """How far a coach is in a study: ``done`` of ``total``, where ``total`` is done + what is left for them."""

    done: int
    total: int
    # True when ``total`` is the coach's quota (exact); otherwise an estimate, a minute old at most.
    is_quota: bool

    @property
    def percent(self) -> int:
        return 100 if self.total <= 0 else min(100, round(100 * self.done / self.total))

    @property
    def text(self) -> str:
        numbers = {"done": self.done, "total": self.total}
        if self.is_quota:
            return gettext("%(done)s of %(total)s for you") % numbers
        return gettext("%(done)s of about %(total)s for you") % numbers


@dataclass(frozen=True)
class StudyCard:
    study: Study
    progress: Progress
    started: bool
    holding: bool  # an item is reserved for the coach right now


@dataclass(frozen=True)
class DoneReason:
    title: str
    message: str
    # Whether looking again can find an item (other coaches' reservations expire).
    can_retry: bool


def open_items(study: Study) -> int:
    """Items in the study that still need a judgement or a reservation, counted at most once a minute."""
    key = f"coachbench:open-items:{study.pk}"
    count = cache.get(key)
    if count is None:
        count = Item.objects.filter(study=study, load__lt=F("needed")).count()
        cache.set(key, count, OPEN_ITEMS_CACHE_S)
    return count


def _left_for(study: Study, coach: AbstractBaseUser) -> int:
    """Items the coach may still judge: open items they have not had, plus the ones they hold now.

    The engine never offers a coach an item twice, so an open item the coach already has an
    assignment on (judged, flagged, given back) is not theirs to judge; one they hold
    (reserved or look-ahead) is, even when their hold is what fills it. One query over the
    coach's own assignments in the study (an index), not a scan of the study's items.
    """
    mine = Assignment.objects.filter(study=study, coach=coach).aggregate(
        had_open=Count("pk", filter=Q(item__load__lt=F("item__needed")) & ~Q(status__in=Assignment.LIVE)),
        held_full=Count("pk", filter=Q(item__load__gte=F("item__needed"), status__in=Assignment.LIVE)),
    )
    return max(0, open_items(study) - mine["had_open"] + mine["held_full"])


def progress_for(study: Study, coach: AbstractBaseUser, done: int) -> Progress:
    """The coach's progress: ``done`` of done + what is left for them (their quota's rest at most).

    What is left is counted at most once a minute per coach (``_left_for``) and, in between,
    lowered by each judgement they make since, so it moves as they work without a query per
    page. Other coaches' work reaches it with the next count; "about" says so.
    """
    key = f"coachbench:left-for:{study.pk}:{coach.pk}"
    counted = cache.get(key)
    if counted is None:
        counted = (_left_for(study, coach), done)
        cache.set(key, counted, OPEN_ITEMS_CACHE_S)
    left_then, done_then = counted
    left = max(0, left_then - max(0, done - done_then))
    if study.quota_per_coach:
        quota_left = max(0, study.quota_per_coach - done)
        if quota_left <= left:
            return Progress(done, done + quota_left, is_quota=True)
    return Progress(done, done + left, is_quota=False)


def may_open(study: Study, coach: AbstractBaseUser, participation: Participation | None) -> bool:
    """Eligibility as the assignment engine decides it: fixed at joining, by rule before that."""
    if participation is not None:
        return participation.eligible
    return is_eligible(study, coach)


def visible_study(coach: AbstractBaseUser, slug: str) -> tuple[Study, Participation | None] | None:
    """The study ``slug`` with the coach's participation, when the coach may see it; else None.

    Pages and the API answer None with a 404, so a slug reveals nothing of a study not open to the coach.
    """
    study = Study.objects.filter(slug=slug, status__in=VISIBLE).first()
    if study is None:
        return None
    participation = Participation.objects.filter(study=study, coach=coach).first()
    if not may_open(study, coach, participation):
        return None
    return study, participation


def next_task(coach: AbstractBaseUser, study: Study) -> Assignment | None:
    """The coach's next item in ``study``, reserved (or the one held); None when there is none for them now.

    ``done_reason`` says why, in full, without reserving anything.
    """
    try:
        return next_assignment_for(coach, study)
    except AssignmentError:
        return None


def coach_studies(coach: AbstractBaseUser) -> list[StudyCard]:
    """Live and paused studies the coach may judge, with their progress, newest first."""
    studies = list(Study.objects.filter(status__in=Study.ANSWERING).order_by("-published", "-created"))
    participations = {
        p.study_id: p for p in Participation.objects.filter(coach=coach, study__in=[s.pk for s in studies])
    }
    cards = []
    for study in studies:
        participation = participations.get(study.pk)
        if not may_open(study, coach, participation):
            continue
        done = participation.done_count if participation else 0
        cards.append(
            StudyCard(
                study=study,
                progress=progress_for(study, coach, done),
                started=participation is not None,
                holding=bool(participation and participation.current_id),
            )
        )
    return cards


def studies_being_prepared(coach: AbstractBaseUser) -> bool:
    """Whether a study the coach may judge is having its items built (the demo's, on a fresh install).

    Its status is ``generating`` until the items are built; the demo's then goes live by itself,
    so the home page can say it is coming and look again, instead of "nothing for you".
    """
    preparing = Study.objects.filter(status=Study.Status.GENERATING)
    return any(is_eligible(study, coach) for study in preparing)


def done_reason(study: Study, coach: AbstractBaseUser) -> DoneReason:
    """Why the coach has nothing to judge in ``study`` now, worked out without reserving anything."""
    if study.status == Study.Status.CLOSED:
        return DoneReason(
            gettext("This study has closed"),
            gettext("The study team has closed it. Thank you for your judgements."),
            False,
        )
    if study.status == Study.Status.PAUSED:
        return DoneReason(
            gettext("This study is paused"),
            gettext("The study team has paused it for now. Your progress is kept; come back when they resume it."),
            True,
        )
    participation = Participation.objects.filter(study=study, coach=coach).first()
    if participation is not None and not participation.eligible:
        return DoneReason(
            gettext("Not open to you"), gettext("You are not among the coaches this study is looking for."), False
        )
    quota = study.quota_per_coach
    if quota and participation is not None and participation.done_count >= quota:
        return DoneReason(
            gettext("You have reached your quota"),
            gettext("You have judged your %(quota)s items for this study. Thank you!") % {"quota": quota},
            False,
        )
    return DoneReason(
        gettext("Nothing left for you right now"),
        gettext(
            "Every remaining item is judged or held by other coaches. Items come back when a reservation "
            "expires, so look again later."
        ),
        True,
    )
