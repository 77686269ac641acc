"""Many coaches claiming at once, each thread on its own PostgreSQL connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from studies.assignment import complete_assignment, lock_assignment, next_assignment_for
from studies.items import build_items
from studies.models import Assignment, Item
from tests.factories import StudyFactory
from tests.studies.conftest import make_coach, make_gallery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_claims_never_over_assign_or_double_judge():
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
                with transaction.atomic():
                    complete_assignment(lock_assignment(assignment.token, coach))
                    # A double submit racing the first must not count twice.
                    complete_assignment(lock_assignment(assignment.token, coach))
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


def test_the_expiry_sweep_passes_over_a_coach_whose_claim_is_in_flight_instead_of_deadlocking():
    from datetime import timedelta

    from django.utils import timezone

    from studies.assignment import release_expired
    from studies.models import Participation

    sport, *_, methods = make_gallery(n_queries=4, methods=("a", "b"))
    busy, idle = make_coach("busy", sports=[sport]), make_coach("idle", sports=[sport])
    study = StudyFactory(title="sweep", slug="sweep", kinds="likert", raters_per_item=2, status="live", methods=methods)
    build_items(study)
    held, left = next_assignment_for(busy, study), next_assignment_for(idle, study)
    later = timezone.now() + timedelta(hours=1)
    claim_has_lock, sweep_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def claim_in_flight() -> None:
        # What a claim does first: lock its coach's participation; it holds it while the sweep runs.
        try:
            with transaction.atomic():
                Participation.objects.select_for_update().get(study=study, coach=busy)
                claim_has_lock.set()
                sweep_done.wait(30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=claim_in_flight)
    thread.start()
    assert claim_has_lock.wait(30)
    try:
        # Before, the sweep locked the expired reservations first and then waited on this participation,
        # while the claim, holding it, would wait on the reservation: a deadlock. Now it passes over it.
        assert release_expired(now=later) == 1
        assert Assignment.objects.get(pk=left.pk).status == "released"
        assert Assignment.objects.get(pk=held.pk).status == "reserved"
    finally:
        sweep_done.set()
        thread.join(30)
    assert not errors, errors
    assert release_expired(now=later) == 1  # once the claim is over, the next sweep takes it
    assert Assignment.objects.get(pk=held.pk).status == "released"
