"""The assignment engine outside a transaction, as the pages and the API call it, on PostgreSQL.

There a coach holding no item gets the next one by one statement (``assignment_sql.quick_next``):
their look-ahead becomes their item, or an item is claimed. Every other case falls
through to the general path. The behaviour tests of ``test_assignment`` and
``test_look_ahead`` run again here, outside the test's transaction, so both paths
keep the same promises; the tests below check the one statement itself.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from studies.assignment import complete_assignment, lock_assignment, next_assignment_for, reserve_upcoming
from studies.models import Assignment, Item, Participation
from tests.studies import test_assignment, test_look_ahead

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The same behaviour tests, collected again in this module so they run with its marks.
for _module in (test_assignment, test_look_ahead):
    globals().update({name: value for name, value in vars(_module).items() if name.startswith("test_")})


def _judge(coach, assignment) -> None:
    with transaction.atomic():
        complete_assignment(lock_assignment(assignment.token, coach))


def test_a_coach_holding_nothing_is_served_by_one_statement(live_study, coaches):
    coach = coaches[0]
    _judge(coach, next_assignment_for(coach, live_study))  # joins the study
    with CaptureQueriesContext(connection) as ctx:
        assignment = next_assignment_for(coach, live_study)
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["WITH"]  # no BEGIN, no COMMIT
    stored = Assignment.objects.get(pk=assignment.pk)
    assert (stored.token, stored.status, stored.coach_id) == (assignment.token, "reserved", coach.pk)
    participation = Participation.objects.get(study=live_study, coach=coach)
    assert participation.current_id == assignment.pk
    assert participation.last_query_id == Item.objects.get(pk=assignment.item_id).query_id
    assert Item.objects.get(pk=assignment.item_id).load == 1


def test_a_coachs_simultaneous_claims_get_one_reservation(live_study, coaches):
    coach = coaches[0]
    _judge(coach, next_assignment_for(coach, live_study))
    start = threading.Barrier(6)
    got, errors = [], []

    def claim() -> None:
        try:
            start.wait()
            got.append(next_assignment_for(coach, live_study).pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(set(got)) == 1  # a double click doesn't reserve two items
    live = Assignment.objects.filter(study=live_study, coach=coach, status="reserved")
    assert list(live.values_list("pk", flat=True)) == got[:1]


def test_the_look_ahead_becomes_the_coachs_item_in_one_statement(live_study, coaches):
    coach = coaches[0]
    current = next_assignment_for(coach, live_study)
    upcoming = reserve_upcoming(coach, live_study, current.token)
    _judge(coach, current)
    before = Assignment.objects.get(pk=upcoming.pk)
    with CaptureQueriesContext(connection) as ctx:
        handed = next_assignment_for(coach, live_study)
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["WITH"]
    assert (handed.pk, handed.token) == (upcoming.pk, upcoming.token)
    after = Assignment.objects.get(pk=upcoming.pk)
    assert after.status == "reserved"
    assert after.reserved > before.reserved  # reserved from now
    assert after.expires > before.expires  # for a full reservation time
    participation = Participation.objects.get(study=live_study, coach=coach)
    assert (participation.current_id, participation.upcoming_id) == (upcoming.pk, None)
    assert participation.last_query_id == Item.objects.get(pk=upcoming.item_id).query_id
    assert Item.objects.get(pk=upcoming.item_id).load == 1  # counted once, when it was looked ahead to
