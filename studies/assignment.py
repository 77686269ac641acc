"""The assignment engine: which item a coach judges next, reserved for a while, completed once.

Promises, kept by the database rather than by luck:
- never more judgements (or live reservations) on an item than it needs: the
  claim is a single conditional ``UPDATE`` guarded by a check constraint, and on
  PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED`` so
  concurrent claimers pass over each other instead of queueing;
- never two judgements by one coach on one item: a unique constraint on
  (item, coach) assignments.
On SQLite every transaction is ``IMMEDIATE`` (see settings), so claims serialise.

A claim costs a constant number of queries whatever the study's size: lock the
coach's participation row, claim an item, insert the assignment, update the
participation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from studies.models import Assignment, CoachProfile, Item, Participation, Study


class AssignmentError(Exception):
    """A reason a coach can't get or submit an item, worded for the coach."""


class StudyNotOpen(AssignmentError):
    pass


class NotEligible(AssignmentError):
    pass


class QuotaReached(AssignmentError):
    pass


class ReservationLost(AssignmentError):
    pass


def eligible_coaches(study: Study) -> QuerySet:
    """The users who may judge this study: the explicit list, or coaches matching its rules."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True)
    if study.eligible_coaches.exists():
        return users.filter(pk__in=study.eligible_coaches.values("pk"))
    profiles = CoachProfile.objects.filter(years_coaching__gte=study.min_years_coaching)
    sports = list(study.eligible_sports.values_list("pk", flat=True))
    if sports:
        profiles = profiles.filter(sports__in=sports)
    return users.filter(pk__in=profiles.values("user_id"))


def is_eligible(study: Study, coach: AbstractBaseUser) -> bool:
    return eligible_coaches(study).filter(pk=coach.pk).exists()


def _participation(study: Study, coach: AbstractBaseUser) -> Participation:
    """Lock (or create) the coach's participation row; eligibility is decided once, when they join."""
    rows = Participation.objects.select_for_update(of=("self",)).select_related("current")
    participation = rows.filter(study=study, coach=coach).first()
    if participation is None:
        participation, _ = Participation.objects.get_or_create(
            study=study, coach=coach, defaults={"eligible": is_eligible(study, coach)}
        )
    return participation


def _claim_sql() -> str:
    q = connection.ops.quote_name
    item, assignment = q(Item._meta.db_table), q(Assignment._meta.db_table)
    lock = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    # Only table and column names are interpolated here; every value is a parameter.
    return f"""
        UPDATE {item} SET {q("load")} = {q("load")} + 1
        WHERE {q("id")} = (
            SELECT i.{q("id")} FROM {item} i
            WHERE i.{q("study_id")} = %s
              AND i.{q("load")} < i.{q("needed")}
              AND i.{q("query_id")} <> %s
              AND NOT EXISTS (
                  SELECT 1 FROM {assignment} a WHERE a.{q("item_id")} = i.{q("id")} AND a.{q("coach_id")} = %s
              )
            ORDER BY i.{q("load")}, i.{q("order_key")}
            LIMIT 1 {lock}
        )
        RETURNING {q("id")}, {q("query_id")}
    """  # noqa: S608 - only quoted table and column names from model meta; every value is a parameter


def _claim_item(study: Study, coach_id: int, avoid_query_id: int | None) -> tuple[int, int] | None:
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), [study.pk, avoid_query_id if avoid_query_id is not None else -1, coach_id])
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def next_assignment_for(coach: AbstractBaseUser, study: Study, *, now: datetime | None = None) -> Assignment | None:
    """Reserve the next item for ``coach`` (or return the one they hold); ``None`` when nothing is left for them.

    Order: fewest judgements plus live reservations first, then the study's seeded
    order; never the same query twice in a row when another is available.
    """
    if study.status != Study.Status.LIVE:
        raise StudyNotOpen("This study is not open for judging right now.")
    now = now or timezone.now()
    with transaction.atomic():
        participation = _participation(study, coach)
        if not participation.eligible:
            raise NotEligible("You are not among the coaches this study is looking for.")
        current = participation.current
        if current is not None and current.status == Assignment.Status.RESERVED:
            if current.expires > now:
                return current
            # Their own reservation ran out: give it back before taking another.
            _release(current)
        if study.quota_per_coach is not None and participation.done_count >= study.quota_per_coach:
            raise QuotaReached(f"You have judged your {study.quota_per_coach} items for this study. Thank you!")
        claimed = _claim_item(study, coach.pk, participation.last_query_id)
        if claimed is None and participation.last_query_id is not None:
            # Only the last query's items are left: better the same query again than nothing.
            claimed = _claim_item(study, coach.pk, None)
        if claimed is None:
            return None
        item_id, query_id = claimed
        assignment = Assignment.objects.create(
            item_id=item_id,
            coach=coach,
            study=study,
            expires=now + timedelta(minutes=study.reservation_minutes),
        )
        Participation.objects.filter(pk=participation.pk).update(current=assignment, last_query_id=query_id)
    return assignment


@dataclass(frozen=True)
class Completion:
    assignment: Assignment
    created: bool  # False when this assignment had already been completed (a repeated submit)


def lock_assignment(token: str, coach: AbstractBaseUser) -> Assignment:
    """Lock the coach's assignment ``token`` for the rest of the transaction; only its holder may.

    The item and study are read by primary key afterwards rather than joined: with
    statistics gathered before a study's first assignments, PostgreSQL planned the
    join as a walk over the whole item index.
    """
    assignment = Assignment.objects.select_for_update().filter(token=token, coach=coach).first()
    if assignment is None:
        raise ReservationLost("This item is not reserved for you. Open the next item to continue.")
    assignment.item = Item.objects.get(pk=assignment.item_id)
    assignment.study = Study.objects.get(pk=assignment.study_id)
    return assignment


def complete_assignment(assignment: Assignment, *, now: datetime | None = None) -> Completion:
    """Mark a reservation judged. ``assignment`` comes from ``lock_assignment`` in the same transaction,
    which also stores the judgement.

    A repeated submit returns ``created=False`` and changes nothing. A late submit
    of a released reservation is accepted while the item still needs a judgement,
    and refused with a message otherwise.
    """
    if assignment.status == Assignment.Status.DONE:
        return Completion(assignment, created=False)
    if assignment.status == Assignment.Status.RESERVED:
        Item.objects.filter(pk=assignment.item_id).update(judgements_done=F("judgements_done") + 1)
    else:
        retaken = Item.objects.filter(pk=assignment.item_id, load__lt=F("needed")).update(
            load=F("load") + 1, judgements_done=F("judgements_done") + 1
        )
        if retaken != 1:
            raise ReservationLost(
                "Your reservation of this item expired and other coaches have since judged it. "
                "Your answer was not needed; please continue with the next item."
            )
    _mark_done(assignment, now or timezone.now(), counts=True)
    return Completion(assignment, created=True)


def flag_assignment(assignment: Assignment, *, now: datetime | None = None) -> Completion:
    """The coach flags the item instead of judging it: it goes to the researcher and out of the counts.

    The coach's slot on the item is freed for another coach, and they are not shown it again.
    """
    if assignment.status == Assignment.Status.DONE:
        return Completion(assignment, created=False)
    if assignment.status == Assignment.Status.RESERVED:
        Item.objects.filter(pk=assignment.item_id).update(load=F("load") - 1, flagged=F("flagged") + 1)
    else:
        Item.objects.filter(pk=assignment.item_id).update(flagged=F("flagged") + 1)
    _mark_done(assignment, now or timezone.now(), counts=False)
    return Completion(assignment, created=True)


def _mark_done(assignment: Assignment, now: datetime, *, counts: bool) -> None:
    assignment.status = Assignment.Status.DONE
    assignment.completed = now
    assignment.save(update_fields=["status", "completed"])
    changes = {"current": Case(When(current_id=assignment.pk, then=Value(None)), default=F("current"))}
    if counts:
        changes["done_count"] = F("done_count") + 1
    Participation.objects.filter(study_id=assignment.study_id, coach_id=assignment.coach_id).update(**changes)


def release_assignment(assignment: Assignment) -> bool:
    """Give a reserved item back to the pool now (the coach skipped it, or flagged it)."""
    with transaction.atomic():
        return _release(assignment)


def _release(assignment: Assignment) -> bool:
    released = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.RESERVED).update(
        status=Assignment.Status.RELEASED
    )
    if released != 1:
        return False
    Item.objects.filter(pk=assignment.item_id).update(load=F("load") - 1)
    Participation.objects.filter(current=assignment).update(current=None)
    return True


def release_expired(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Return abandoned reservations to the pool; run every minute by Celery beat. Returns how many."""
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            rows = list(
                Assignment.objects.select_for_update(skip_locked=True)
                .filter(status=Assignment.Status.RESERVED, expires__lt=now)
                .values_list("pk", "item_id")[:batch]
            )
            if not rows:
                return released
            Assignment.objects.filter(pk__in=[pk for pk, _ in rows]).update(status=Assignment.Status.RELEASED)
            by_count: dict[int, list[int]] = {}
            for item_id, count in Counter(item_id for _, item_id in rows).items():
                by_count.setdefault(count, []).append(item_id)
            for count, item_ids in by_count.items():
                Item.objects.filter(pk__in=item_ids).update(load=F("load") - count)
            Participation.objects.filter(current_id__in=[pk for pk, _ in rows]).update(current=None)
            released += len(rows)
