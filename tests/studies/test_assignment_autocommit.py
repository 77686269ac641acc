"""The assignment engine outside a transaction, as the pages and the API call it, on PostgreSQL.

There a coach holding nothing is served by one statement (``assignment_sql.quick_claim``);
every other case falls through to the general path. The behaviour tests of
``test_assignment`` run again here, outside the test's transaction, so both paths keep
the same promises; the tests below check the one-statement claim itself.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from studies.assignment import complete_assignment, lock_assignment, next_assignment_for
from studies.models import Assignment, Item, Participation
from tests.studies import test_assignment
from tests.studies.conftest import make_coach

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The same behaviour tests, collected again in this module so they run with its marks.
for _name in dir(test_assignment):
    if _name.startswith("test_"):
        globals()[_name] = getattr(test_assignment, _name)


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
