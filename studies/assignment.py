"""The assignment engine: which item a coach judges next, reserved for a while, completed once.

Promises, kept by the database rather than by luck:
- never more judgements (or live reservations) on an item than it needs: the
  claim is a single conditional ``UPDATE`` guarded by a check constraint, and on
  PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED`` so
  concurrent claimers pass over each other instead of queueing;
- never two judgements by one coach on one item: a unique constraint on
  (item, coach) assignments.
On SQLite every transaction is ``IMMEDIATE`` (see settings), so claims serialise.

A claim costs a constant number of queries whatever the study's size. On
PostgreSQL, outside a transaction, the common cases (a coach holding no item
whose look-ahead becomes their item, or who gets an item claimed) are one
statement (``assignment_sql.quick_next``). Otherwise, and on SQLite: lock the
coach's participation row, then claim, reserve and point to the item (one
statement on PostgreSQL, three on SQLite). The statements themselves live in
``studies/assignment_sql.py``.

Look-ahead: while a coach judges the item they hold, the task page asks
(``reserve_upcoming``) for the item after it to be reserved too, with the same
claim (so it counts in the item's load and avoids the current item's query), as
an ``upcoming`` assignment that can't be answered yet; the page loads its clips
meanwhile. When the coach moves on, ``next_assignment_for`` hands that
reservation over if it is still theirs and valid, and claims afresh otherwise. It
expires like any reservation, and is never taken beyond the coach's quota; given
back before the coach reached it, it is deleted rather than kept as released, so
the item may still come to that coach later.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Model, Q, QuerySet, Value, When
from django.utils import timezone

from core.database import fetch_one, insert_statement, inserted, instance
from studies import assignment_sql as sql
from studies.models import Assignment, CoachProfile, Item, Participation, Study, new_token


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
    """Lock (or create) the coach's participation row; eligibility is decided once, when they join.

    Its two reservations come along, and the look-ahead's query, in the same query.
    """
    lock = sql.lock_participation(connection.vendor)
    row = fetch_one(lock, [study.pk, coach.pk])
    if row is None:
        Participation.objects.get_or_create(study=study, coach=coach, defaults={"eligible": is_eligible(study, coach)})
        row = fetch_one(lock, [study.pk, coach.pk])  # locked now, whoever created it
    fields = len(sql.PARTICIPATION_FIELDS)
    values = dict(zip(sql.PARTICIPATION_FIELDS, row[:fields], strict=True))
    participation = instance(
        Participation, {**values, "eligible": bool(values["eligible"]), "study_id": study.pk, "coach_id": coach.pk}
    )
    width = len(sql.RESERVATION_FIELDS)
    participation.current = _reservation(row[fields : fields + width], study, coach)
    participation.upcoming = _reservation(row[fields + width : fields + 2 * width], study, coach)
    participation.upcoming_query_id = row[-1]
    return participation


def _reservation(row: tuple, study: Study, coach: AbstractBaseUser) -> Assignment | None:
    values = dict(zip(sql.RESERVATION_FIELDS, row, strict=True))
    if values["id"] is None:
        return None
    values.update(reserved=sql.aware(values["reserved"]), expires=sql.aware(values["expires"]))
    return instance(Assignment, {**values, "study_id": study.pk, "coach_id": coach.pk})


def _quota_left(study: Study, participation: Participation) -> int | None:
    """Items the coach may still judge in ``study``; None when the study sets no quota."""
    if study.quota_per_coach is None:
        return None
    return study.quota_per_coach - participation.done_count


def next_assignment_for(coach: AbstractBaseUser, study: Study, *, now: datetime | None = None) -> Assignment | None:
    """Reserve the next item for ``coach`` (or return the one they hold); ``None`` when nothing is left for them.

    Order: fewest judgements plus live reservations first, then the study's seeded
    order; never the same query twice in a row when another is available. The
    look-ahead reserved for the coach (``reserve_upcoming``) is handed over first
    while it is still valid.

    The reservation comes with ``study`` and, as the task page's rows annotate it,
    the coach's ``done_count`` in the study, so a page can show it without asking.
    """
    if study.status != Study.Status.LIVE:
        raise StudyNotOpen("This study is not open for judging right now.")
    now = now or timezone.now()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        quick = _quick_next(study, coach, now)
        if quick is not None:
            return quick
    with transaction.atomic():
        participation = _participation(study, coach)
        following = _next(study, participation, now)
    if following is not None:
        following.study, following.done_count = study, participation.done_count
    return following


def _next(study: Study, participation: Participation, now: datetime) -> Assignment | None:
    """The general path of ``next_assignment_for``, under the participation's lock."""
    if not participation.eligible:
        raise NotEligible("You are not among the coaches this study is looking for.")
    current = participation.current
    if current is not None and current.status == Assignment.Status.RESERVED:
        if current.expires > now:
            return current
        # Their own reservation ran out: give it back before taking another.
        _release(current)
    upcoming = participation.upcoming
    if upcoming is not None and (upcoming.status != Assignment.Status.UPCOMING or upcoming.expires <= now):
        _release(upcoming)  # it ran out (or was given back already): only the pointer is left to clear
        upcoming = None
    left = _quota_left(study, participation)
    if left is not None and left <= 0:
        if upcoming is not None:
            _release(upcoming)
        raise QuotaReached(f"You have judged your {study.quota_per_coach} items for this study. Thank you!")
    if upcoming is not None:
        handed = _hand_over(study, participation, upcoming, now)
        if handed is not None:
            return handed
    return _claim(study, participation, now, current=True)


def _quick_next(study: Study, coach: AbstractBaseUser, now: datetime) -> Assignment | None:
    """The common cases, a coach holding no item with quota left, in one statement and no transaction around it:
    their look-ahead becomes their item, or an item is claimed for them.

    None when neither applies; the general path then decides.
    """
    token = new_token()
    expires = now + timedelta(minutes=study.reservation_minutes)
    try:
        taken = sql.quick_next(
            study_id=study.pk, coach_id=coach.pk, quota=study.quota_per_coach, token=token, now=now, expires=expires
        )
    except IntegrityError:
        # The coach's other claim committed while this one waited, on the item this one chose from
        # before: the unique (item, coach) constraint refused it, and the statement changed nothing.
        return None
    if taken is None:
        return None
    assignment_id, item_id, token, done_count = taken
    assignment = _reserved(study, coach.pk, (assignment_id, item_id), token, Assignment.Status.RESERVED, now, expires)
    assignment.study, assignment.done_count = study, done_count
    return assignment


def _reserved(
    study: Study, coach_id: int, ids: tuple[int, int], token: str, status: str, now: datetime, expires: datetime
) -> Assignment:
    """The reservation just written, as an instance (without a query)."""
    assignment_id, item_id = ids
    return instance(
        Assignment,
        {
            "id": assignment_id,
            "item_id": item_id,
            "coach_id": coach_id,
            "study_id": study.pk,
            "token": token,
            "status": status,
            "reserved": now,
            "expires": expires,
            "completed": None,
        },
    )


def _claim(
    study: Study, participation: Participation, now: datetime, *, current: bool, fallback: bool = True
) -> Assignment | None:
    """Claim an item of another query than the coach's last and reserve it for them, as their current item
    or their look-ahead; an item of that last query when nothing else is left (unless not ``fallback``).
    """
    avoid = [participation.last_query_id]
    if fallback and participation.last_query_id is not None:
        avoid.append(None)  # better the same query again than nothing
    token = new_token()
    status = Assignment.Status.RESERVED if current else Assignment.Status.UPCOMING
    expires = now + timedelta(minutes=study.reservation_minutes)
    for avoid_query_id in avoid:
        claimed = sql.claim(
            study_id=study.pk,
            coach_id=participation.coach_id,
            participation_id=participation.pk,
            avoid_query_id=avoid_query_id,
            token=token,
            status=status,
            now=now,
            expires=expires,
            as_current=current,
        )
        if claimed is not None:
            break
    else:
        return None
    if current:
        participation.last_query_id = claimed[2]
    return _reserved(study, participation.coach_id, claimed[:2], token, status, now, expires)


def _hand_over(study: Study, participation: Participation, upcoming: Assignment, now: datetime) -> Assignment | None:
    """Make the look-ahead the coach's current reservation, from now on and for a full reservation time.

    A look-ahead on the last query (taken when nothing else was left) gives way to an
    item of another query that has come free since. None when it was released meanwhile.
    """
    query_id = participation.upcoming_query_id
    if query_id is not None and query_id == participation.last_query_id:
        other = _claim(study, participation, now, current=True, fallback=False)
        if other is not None:
            _release(upcoming)
            return other
    expires = now + timedelta(minutes=study.reservation_minutes)
    # Reserved from now: the judgement's server time counts from when the coach was shown the item.
    promoted = sql.promote_upcoming(
        assignment_id=upcoming.pk, participation_id=participation.pk, query_id=query_id, now=now, expires=expires
    )
    if not promoted:
        return None
    upcoming.status, upcoming.reserved, upcoming.expires = Assignment.Status.RESERVED, now, expires
    return upcoming


def reserve_upcoming(
    coach: AbstractBaseUser, study: Study, current_token: str, *, now: datetime | None = None
) -> Assignment | None:
    """Reserve the item after the one the coach holds (``current_token``), so its clips can load meanwhile.

    Returns the look-ahead (the same one when asked again), or None when there is none
    to take: the coach no longer holds ``current_token``, the study isn't live, the
    quota leaves room for the current item only, or no other item is open. Claimed
    like any item: it counts in the item's load, avoids the current item's query
    when another is available, and expires after the study's reservation time.
    """
    if study.status != Study.Status.LIVE:
        return None
    now = now or timezone.now()
    with transaction.atomic():
        participation = _participation(study, coach)
        current = participation.current
        if (
            not participation.eligible
            or current is None
            or current.token != current_token
            or current.status != Assignment.Status.RESERVED
            or current.expires <= now
        ):
            return None
        upcoming = participation.upcoming
        if upcoming is not None:
            if upcoming.status == Assignment.Status.UPCOMING and upcoming.expires > now:
                return upcoming
            _release(upcoming)
        left = _quota_left(study, participation)
        if left is not None and left < 2:  # the current item takes the last place
            return None
        return _claim(study, participation, now, current=False)


@dataclass(frozen=True)
class Completion:
    assignment: Assignment
    created: bool  # False when this assignment had already been completed (a repeated submit)


def lock_assignment(token: str, coach: AbstractBaseUser) -> Assignment:
    """Lock the coach's assignment ``token`` for the rest of the transaction; only its holder may.

    Its item and study come with it, with what a submit reads of them (the rest loads when touched).
    """
    row = fetch_one(sql.lock_held(connection.vendor), [token, coach.pk])
    if row is None:
        raise ReservationLost("This item is not reserved for you. Open the next item to continue.")
    fields, item_fields = len(sql.LOCKED_FIELDS), len(sql.LOCKED_ITEM_FIELDS)
    values = dict(zip(sql.LOCKED_FIELDS, row[:fields], strict=True))
    values.update(reserved=sql.aware(values["reserved"]), expires=sql.aware(values["expires"]))
    assignment = instance(Assignment, {**values, "token": token, "coach_id": coach.pk})
    item = dict(zip(sql.LOCKED_ITEM_FIELDS, row[fields : fields + item_fields], strict=True))
    assignment.item = instance(
        Item, {**item, "swapped": bool(item["swapped"]), "id": values["item_id"], "study_id": values["study_id"]}
    )
    study = dict(zip(sql.LOCKED_STUDY_FIELDS, row[fields + item_fields :], strict=True))
    assignment.study = instance(Study, {**study, "id": values["study_id"]})
    return assignment


def complete_assignment(
    assignment: Assignment, *, now: datetime | None = None, record: Model | None = None
) -> Completion:
    """Mark a reservation judged. ``assignment`` comes from ``lock_assignment`` in the same transaction,
    which also stores the judgement: pass it, unsaved, as ``record`` and it is written with the completion,
    in the same statement on PostgreSQL (and only if the completion is).

    A repeated submit returns ``created=False`` and changes nothing. A late submit
    of a released reservation is accepted while the item still needs a judgement,
    and refused with a message otherwise.
    """
    if assignment.status == Assignment.Status.DONE:
        return Completion(assignment, created=False)
    _refuse_upcoming(assignment)
    change = sql.JUDGED
    if assignment.status != Assignment.Status.RESERVED:
        change = None  # counted here, on condition
        retaken = Item.objects.filter(pk=assignment.item_id, load__lt=F("needed")).update(
            load=F("load") + 1, judgements_done=F("judgements_done") + 1
        )
        if retaken != 1:
            raise ReservationLost(
                "Your reservation of this item expired and other coaches have since judged it. "
                "Your answer was not needed; please continue with the next item."
            )
    _mark_done(assignment, now or timezone.now(), item_change=change, counts=True, record=record)
    return Completion(assignment, created=True)


def flag_assignment(assignment: Assignment, *, now: datetime | None = None, record: Model | None = None) -> Completion:
    """The coach flags the item instead of judging it: it goes to the researcher and out of the counts.

    The coach's slot on the item is freed for another coach, and they are not shown it again. ``record``
    as for ``complete_assignment``.
    """
    if assignment.status == Assignment.Status.DONE:
        return Completion(assignment, created=False)
    _refuse_upcoming(assignment)
    change = sql.FLAGGED_RESERVED if assignment.status == Assignment.Status.RESERVED else sql.FLAGGED_RELEASED
    _mark_done(assignment, now or timezone.now(), item_change=change, counts=False, record=record)
    return Completion(assignment, created=True)


def _refuse_upcoming(assignment: Assignment) -> None:
    if assignment.status == Assignment.Status.UPCOMING:
        raise ReservationLost("This item is not open to you yet: finish the one you hold first.")


def _mark_done(
    assignment: Assignment, now: datetime, *, item_change: str | None, counts: bool, record: Model | None
) -> None:
    returned = sql.finish(
        assignment_id=assignment.pk,
        item_id=assignment.item_id,
        study_id=assignment.study_id,
        coach_id=assignment.coach_id,
        now=now,
        item_change=item_change,
        counts=counts,
        insert=insert_statement(record) if record is not None else None,
    )
    if record is not None:
        inserted(record, returned[0])
    assignment.status, assignment.completed = Assignment.Status.DONE, now


def release_assignment(assignment: Assignment) -> bool:
    """Give a reserved item (or a look-ahead) back to the pool now (the coach skipped it, or flagged it)."""
    with transaction.atomic():
        return _release(assignment)


def _release(assignment: Assignment) -> bool:
    """Give a live reservation back to the pool and clear the participation's pointer to it.

    A reservation the coach was shown stays, released (they may still send a late
    answer); a look-ahead they never reached is deleted, as if never taken, so the
    item may come to them again. The caller holds the coach's participation lock
    (or, in ``release_expired``, the assignment's row lock), so a look-ahead can't
    be handed over between the two statements.
    """
    released = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.RESERVED).update(
        status=Assignment.Status.RELEASED
    )
    _forget([assignment.pk])
    if not released:
        released = _drop_upcoming([assignment.pk])
    if released:
        Item.objects.filter(pk=assignment.item_id).update(load=F("load") - 1)
    return released == 1


def _drop_upcoming(assignment_ids: list[int]) -> int:
    """Delete these look-aheads (those still ``upcoming``); returns how many."""
    _, deleted = Assignment.objects.filter(pk__in=assignment_ids, status=Assignment.Status.UPCOMING).delete()
    return deleted.get(Assignment._meta.label, 0)


def _forget(assignment_ids: list[int]) -> None:
    """Clear participations' pointers to these (released) assignments, current or look-ahead, in one UPDATE."""
    Participation.objects.filter(Q(current_id__in=assignment_ids) | Q(upcoming_id__in=assignment_ids)).update(
        current=Case(When(current_id__in=assignment_ids, then=Value(None)), default=F("current")),
        upcoming=Case(When(upcoming_id__in=assignment_ids, then=Value(None)), default=F("upcoming")),
    )


def release_expired(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Return abandoned reservations, look-aheads too, to the pool; run every minute by Celery beat.

    Returns how many.
    """
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            expired = list(
                Assignment.objects.filter(status__in=Assignment.LIVE, expires__lt=now).values_list(
                    "pk", "study_id", "coach_id"
                )[:batch]
            )
            if not expired:
                return released
            # The coaches' participation rows first, then their assignments: the order a claim takes them in
            # (it locks its participation, then releases its own expired reservation), so the two can't
            # deadlock. A participation a claim holds right now is skipped: that claim releases it itself.
            locked = set(
                Participation.objects.select_for_update(skip_locked=True)
                .filter(study_id__in={s for _, s, _ in expired}, coach_id__in={c for _, _, c in expired})
                .values_list("study_id", "coach_id")
            )
            rows = list(
                Assignment.objects.select_for_update(skip_locked=True)
                .filter(
                    pk__in=[pk for pk, study, coach in expired if (study, coach) in locked],
                    status__in=Assignment.LIVE,
                    expires__lt=now,
                )
                .values_list("pk", "item_id")
            )
            if not rows:
                return released  # what is left is in a claim's hands; the next sweep sees the rest
            ids = [pk for pk, _ in rows]
            _forget(ids)
            Assignment.objects.filter(pk__in=ids, status=Assignment.Status.RESERVED).update(
                status=Assignment.Status.RELEASED
            )
            _drop_upcoming(ids)
            by_count: dict[int, list[int]] = {}
            for item_id, count in Counter(item_id for _, item_id in rows).items():
                by_count.setdefault(count, []).append(item_id)
            for count, item_ids in by_count.items():
                Item.objects.filter(pk__in=item_ids).update(load=F("load") - count)
            released += len(rows)
