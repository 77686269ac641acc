"""Many coaches claiming at once, each thread on its own PostgreSQL connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from studies.assignment import complete_assignment, lock_assignment, next_assignment_for
from studies.items import build_items
from studies.models import Assignment, Item, Study
from tests.studies.conftest import make_coach, make_gallery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_claims_never_over_assign_or_double_judge():
    sport, *_, methods = make_gallery(n_queries=12, methods=("a", "b", "c"))
    coaches = [make_coach(f"coach{i}", sports=[sport]) for i in range(8)]
    study = Study.objects.create(title="race", slug="race", raters_per_item=3, status="live")
    study.methods.set(methods)
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
