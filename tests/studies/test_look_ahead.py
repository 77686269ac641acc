"""The look-ahead reservation: the item after the one a coach holds, reserved so its clips can load early.

It is claimed like any item (counted in the load, other queries first, never twice
for a coach, never past the quota), can't be answered before its turn, is handed
over when the coach moves on while it is still valid, and expires like any other;
given back before the coach reached it, it leaves no trace, so the item can still
come to that coach.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studies.assignment import (
    ReservationLost,
    complete_assignment,
    flag_assignment,
    lock_assignment,
    next_assignment_for,
    release_expired,
    reserve_upcoming,
)
from studies.items import build_items
from studies.models import Assignment, Item, Participation, Study
from tests.factories import StudyFactory
from tests.studies.conftest import make_coach, make_gallery

pytestmark = pytest.mark.django_db


def _complete(coach, assignment) -> None:
    with transaction.atomic():
        complete_assignment(lock_assignment(assignment.token, coach))


def _participation(coach, study) -> Participation:
    return Participation.objects.get(coach=coach, study=study)


def _loads_match_live_reservations(study) -> None:
    """Every item's load is its judgements plus its live reservations, look-aheads included."""
    for item in Item.objects.filter(study=study):
        live = Assignment.objects.filter(item=item, status__in=Assignment.LIVE).count()
        assert item.load == item.judgements_done + live, item
        assert item.load <= item.needed


def test_the_look_ahead_is_reserved_counted_in_the_load_and_on_another_query(live_study, coaches):
    coach = coaches[0]
    current = next_assignment_for(coach, live_study)
    upcoming = reserve_upcoming(coach, live_study, current.token)
    assert upcoming is not None
    assert upcoming.status == Assignment.Status.UPCOMING
    assert upcoming.item_id != current.item_id
    assert Item.objects.get(pk=upcoming.item_id).query_id != Item.objects.get(pk=current.item_id).query_id
    assert Item.objects.get(pk=upcoming.item_id).load == 1
    participation = _participation(coach, live_study)
    assert (participation.current_id, participation.upcoming_id) == (current.pk, upcoming.pk)
    # Asking again (a second tab, a retried request) returns the same look-ahead; the coach still holds the current.
    assert reserve_upcoming(coach, live_study, current.token) == upcoming
    assert next_assignment_for(coach, live_study) == current
    assert Assignment.objects.filter(coach=coach).count() == 2
    _loads_match_live_reservations(live_study)


def test_on_submit_the_look_ahead_is_handed_over_for_a_full_reservation(live_study, coaches):
    coach = coaches[0]
    current = next_assignment_for(coach, live_study)
    upcoming = reserve_upcoming(coach, live_study, current.token)
    _complete(coach, current)
    later = timezone.now() + timedelta(minutes=5)
    handed = next_assignment_for(coach, live_study, now=later)
    assert handed.pk == upcoming.pk
    handed.refresh_from_db()
    assert handed.status == Assignment.Status.RESERVED
    # Its time runs from when the coach got it: the reservation's length and the judgement's server time.
    assert handed.reserved == later
    assert handed.expires == later + timedelta(minutes=live_study.reservation_minutes)
    participation = _participation(coach, live_study)
    assert (participation.current_id, participation.upcoming_id) == (upcoming.pk, None)
    assert participation.last_query_id == Item.objects.get(pk=upcoming.item_id).query_id
    assert Item.objects.get(pk=upcoming.item_id).load == 1  # not counted twice
    assert next_assignment_for(coach, live_study, now=later) == handed
    _loads_match_live_reservations(live_study)


def test_a_look_ahead_cannot_be_answered_or_flagged_before_its_turn(live_study, coaches):
    coach = coaches[0]
    current = next_assignment_for(coach, live_study)
    upcoming = reserve_upcoming(coach, live_study, current.token)
    for record in (complete_assignment, flag_assignment):
        with pytest.raises(ReservationLost, match="not open to you yet"), transaction.atomic():
            record(lock_assignment(upcoming.token, coach))
    item = Item.objects.get(pk=upcoming.item_id)
    assert (item.load, item.judgements_done, item.flagged) == (1, 0, 0)
    assert Assignment.objects.get(pk=upcoming.pk).status == Assignment.Status.UPCOMING


def test_an_abandoned_look_ahead_returns_to_the_pool_with_the_current_one(live_study, coaches):
    coach = coaches[0]
    current = next_assignment_for(coach, live_study)
    upcoming = reserve_upcoming(coach, live_study, current.token)
    later = timezone.now() + timedelta(minutes=live_study.reservation_minutes + 1)
    assert release_expired(now=later) == 2
    assert not Assignment.objects.filter(pk=upcoming.pk).exists()  # never reached: gone, not kept
    assert Item.objects.get(pk=upcoming.item_id).load == 0
    participation = _participation(coach, live_study)
    assert (participation.current_id, participation.upcoming_id) == (None, None)
    # Coming back later, the coach gets an item as usual, and may look ahead again.
    fresh = next_assignment_for(coach, live_study, now=later)
    assert fresh.pk not in {current.pk, upcoming.pk}
    assert reserve_upcoming(coach, live_study, fresh.token, now=later) is not None
    _loads_match_live_reservations(live_study)


def test_a_look_ahead_given_back_unreached_can_come_to_the_same_coach_later(db):
    sport, *_, methods = make_gallery(n_queries=1, methods=("a", "b"))
    coach = make_coach("ana", sports=[sport])
    study = StudyFactory(title="t", slug="t", kinds="likert", raters_per_item=1, status="live", methods=methods)
    build_items(study)
    Item.objects.filter(study=study).exclude(pk__in=Item.objects.filter(study=study)[:2].values("pk")).delete()
    current = next_assignment_for(coach, study)
    upcoming = reserve_upcoming(coach, study, current.token)
    later = timezone.now() + timedelta(minutes=study.reservation_minutes + 1)
    assert release_expired(now=later) == 2
    # The item they were shown stays theirs (a late answer is still taken); the one they never reached comes back.
    again = next_assignment_for(coach, study, now=later)
    assert again.item_id == upcoming.item_id
    assert Assignment.objects.get(pk=current.pk).status == Assignment.Status.RELEASED
    _loads_match_live_reservations(study)


def test_a_look_ahead_that_ran_out_is_not_handed_over(live_study, coaches):
    coach = coaches[0]
    current = next_assignment_for(coach, live_study)
    upcoming = reserve_upcoming(coach, live_study, current.token)
    _complete(coach, current)
    # The coach thought longer than a reservation lasts, and the beat has not run yet.
    later = timezone.now() + timedelta(minutes=live_study.reservation_minutes + 1)
    following = next_assignment_for(coach, live_study, now=later)
    assert following.pk != upcoming.pk
    assert not Assignment.objects.filter(pk=upcoming.pk).exists()  # never reached: gone, not kept
    assert _participation(coach, live_study).upcoming_id is None
    _loads_match_live_reservations(live_study)


def test_the_look_ahead_stays_within_the_quota(live_study, coaches):
    coach = coaches[0]
    live_study.quota_per_coach = 2
    live_study.save()
    first = next_assignment_for(coach, live_study)
    second = reserve_upcoming(coach, live_study, first.token)
    assert second is not None  # two items allowed: the current one and the next
    _complete(coach, first)
    assert next_assignment_for(coach, live_study) == second
    # One item left in the quota, and the coach holds it: nothing more is reserved.
    assert reserve_upcoming(coach, live_study, second.token) is None
    assert Assignment.objects.filter(coach=coach, status__in=Assignment.LIVE).count() == 1

    live_study.quota_per_coach = 1
    live_study.save()
    other = coaches[1]
    only = next_assignment_for(other, live_study)
    assert reserve_upcoming(other, live_study, only.token) is None


def test_a_stale_page_or_another_coach_reserves_nothing(live_study, coaches):
    ana, ben = coaches[:2]
    current = next_assignment_for(ana, live_study)
    assert reserve_upcoming(ben, live_study, current.token) is None  # not ben's reservation
    _complete(ana, current)
    assert reserve_upcoming(ana, live_study, current.token) is None  # answered already
    Study.objects.filter(pk=live_study.pk).update(status=Study.Status.PAUSED)
    live_study.refresh_from_db()
    assert reserve_upcoming(ana, live_study, current.token) is None
    assert not Assignment.objects.filter(status=Assignment.Status.UPCOMING).exists()


def test_queries_stay_interleaved_with_the_look_ahead(live_study, coaches):
    coach = coaches[0]
    seen = []
    for _ in range(12):
        assignment = next_assignment_for(coach, live_study)
        seen.append(Item.objects.get(pk=assignment.item_id).query_id)
        reserve_upcoming(coach, live_study, assignment.token)
        _complete(coach, assignment)
    assert all(a != b for a, b in itertools.pairwise(seen))


def test_a_look_ahead_on_the_same_query_gives_way_to_another_query_come_free(db):
    sport, _, _, methods = make_gallery(n_queries=2, methods=("a", "b"))
    coach = make_coach("ana", sports=[sport])
    study = StudyFactory(title="t", slug="t", kinds="likert", raters_per_item=1, status="live", seed=3, methods=methods)
    build_items(study)
    current = next_assignment_for(coach, study)
    here = Item.objects.get(pk=current.item_id).query_id
    # Every item of the other query is held by other coaches for now: the look-ahead takes this query again.
    Item.objects.filter(study=study).exclude(query_id=here).update(load=1)
    upcoming = reserve_upcoming(coach, study, current.token)
    assert Item.objects.get(pk=upcoming.item_id).query_id == here
    # Those reservations run out while the coach judges; moving on, they get the other query after all.
    Item.objects.filter(study=study).exclude(query_id=here).update(load=0)
    _complete(coach, current)
    following = next_assignment_for(coach, study)
    assert Item.objects.get(pk=following.item_id).query_id != here
    assert not Assignment.objects.filter(pk=upcoming.pk).exists()  # never reached: gone, not kept
    assert _participation(coach, study).upcoming_id is None
    assert Item.objects.get(pk=upcoming.item_id).load == 0


def test_coaches_looking_ahead_fill_every_item_exactly_once_each(live_study, coaches):
    """All coaches judge the whole study, each looking ahead at every step, turn by turn."""
    holding = {coach.pk: next_assignment_for(coach, live_study) for coach in coaches}
    judged: dict[int, list[int]] = {coach.pk: [] for coach in coaches}
    while any(holding.values()):
        for coach in coaches:
            assignment = holding[coach.pk]
            if assignment is None:
                continue
            reserve_upcoming(coach, live_study, assignment.token)
            _complete(coach, assignment)
            judged[coach.pk].append(assignment.item_id)
            holding[coach.pk] = next_assignment_for(coach, live_study)
            _loads_match_live_reservations(live_study)
    for items in judged.values():
        assert len(items) == len(set(items))
    assert {i.judgements_done for i in Item.objects.filter(study=live_study)} == {3}
    assert not Assignment.objects.filter(status__in=Assignment.LIVE).exists()


def test_handing_over_costs_no_more_queries_than_a_claim(live_study, coaches):
    coach = coaches[0]
    first = next_assignment_for(coach, live_study)
    reserve_upcoming(coach, live_study, first.token)
    _complete(coach, first)
    with CaptureQueriesContext(connection) as ctx:
        next_assignment_for(coach, live_study)
    assert len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]) <= 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_coaches_looking_ahead_never_over_assign_or_double_judge():
    """Eight coaches at once, each on its own PostgreSQL connection, each looking ahead at every item."""
    sport, *_, methods = make_gallery(n_queries=12, methods=("a", "b", "c"))
    coaches = [make_coach(f"coach{i}", sports=[sport]) for i in range(8)]
    study = StudyFactory(title="race", slug="race", raters_per_item=3, status="live", methods=methods)
    build_items(study)
    n_items = Item.objects.filter(study=study).count()
    errors: list[BaseException] = []
    start = threading.Barrier(len(coaches))

    def work(coach) -> None:
        try:
            start.wait()
            while (assignment := next_assignment_for(coach, study)) is not None:
                reserve_upcoming(coach, study, assignment.token)
                _complete(coach, assignment)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(coach,)) for coach in coaches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    done = Assignment.objects.filter(study=study, status="done")
    per_item = Counter(done.values_list("item_id", flat=True))
    assert len(per_item) == n_items
    assert set(per_item.values()) == {3}
    assert max(Counter(done.values_list("item_id", "coach_id")).values()) == 1
    assert set(Item.objects.filter(study=study).values_list("judgements_done", "load")) == {(3, 3)}
    assert not Assignment.objects.filter(status__in=Assignment.LIVE).exists()
