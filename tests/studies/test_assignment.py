"""The assignment engine: eligibility, order, quotas, reservations, and the two database promises."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studies.assignment import (
    NotEligible,
    QuotaReached,
    ReservationLost,
    StudyNotOpen,
    complete_assignment,
    lock_assignment,
    next_assignment_for,
    release_expired,
)
from studies.items import build_items
from studies.models import Assignment, Item
from tests.factories import AssignmentFactory, StudyFactory
from tests.studies.conftest import make_coach, make_gallery

pytestmark = pytest.mark.django_db


def _judge_all(coach, study, limit=10_000):
    judged = []
    for _ in range(limit):
        assignment = next_assignment_for(coach, study)
        if assignment is None:
            break
        with transaction.atomic():
            complete_assignment(lock_assignment(assignment.token, coach))
        judged.append(assignment.item_id)
    return judged


def test_a_draft_study_serves_nothing(study, coaches):
    with pytest.raises(StudyNotOpen):
        next_assignment_for(coaches[0], study)


def test_coaches_outside_the_eligibility_rules_get_nothing(live_study, gallery):
    outsider = make_coach("golfer", sports=[], years=1)
    live_study.min_years_coaching = 3
    live_study.save()
    with pytest.raises(NotEligible):
        next_assignment_for(outsider, live_study)


def test_an_explicit_coach_list_overrides_the_rules(live_study, coaches):
    live_study.eligible_coaches.set([coaches[1]])
    with pytest.raises(NotEligible):
        next_assignment_for(coaches[0], live_study)
    assert next_assignment_for(coaches[1], live_study) is not None


def test_the_same_reservation_comes_back_until_it_is_judged(live_study, coaches):
    first = next_assignment_for(coaches[0], live_study)
    assert next_assignment_for(coaches[0], live_study) == first
    with transaction.atomic():
        complete_assignment(lock_assignment(first.token, coaches[0]))
    assert next_assignment_for(coaches[0], live_study) != first


def test_items_get_exactly_their_raters_and_no_coach_judges_one_twice(live_study, coaches):
    for coach in coaches:
        judged = _judge_all(coach, live_study)
        assert len(judged) == len(set(judged))
    items = Item.objects.filter(study=live_study)
    assert {i.judgements_done for i in items} == {3}
    assert Assignment.objects.filter(status="done").count() == 3 * items.count()


def test_least_judged_items_come_first(live_study, coaches):
    n_items = Item.objects.filter(study=live_study).count()
    judged = _judge_all(coaches[0], live_study, limit=n_items // 2)
    # The second coach starts with items nobody has judged yet.
    second = next_assignment_for(coaches[1], live_study)
    assert second.item_id not in judged


def test_queries_are_interleaved(live_study, coaches):
    seen = []
    for _ in range(12):
        assignment = next_assignment_for(coaches[0], live_study)
        seen.append(assignment.item.query_id)
        with transaction.atomic():
            complete_assignment(lock_assignment(assignment.token, coaches[0]))
    assert all(a != b for a, b in itertools.pairwise(seen))


def test_the_quota_stops_a_coach(live_study, coaches):
    live_study.quota_per_coach = 2
    live_study.save()
    assert len(_judge_all(coaches[0], live_study, limit=2)) == 2
    with pytest.raises(QuotaReached, match="2 items"):
        next_assignment_for(coaches[0], live_study)


def test_an_abandoned_reservation_returns_to_the_pool(live_study, coaches):
    assignment = next_assignment_for(coaches[0], live_study)
    item = Item.objects.get(pk=assignment.item_id)
    assert item.load == 1
    assert release_expired(now=timezone.now() + timedelta(minutes=live_study.reservation_minutes + 1)) == 1
    item.refresh_from_db()
    assert item.load == 0
    assert Assignment.objects.get(pk=assignment.pk).status == "released"


def test_a_late_submission_is_accepted_while_the_item_still_needs_it(live_study, coaches):
    assignment = next_assignment_for(coaches[0], live_study)
    release_expired(now=timezone.now() + timedelta(hours=1))
    with transaction.atomic():
        done = complete_assignment(lock_assignment(assignment.token, coaches[0]))
    assert done.created
    item = Item.objects.get(pk=assignment.item_id)
    assert (item.load, item.judgements_done) == (1, 1)


def test_a_late_submission_is_refused_once_others_filled_the_item(db):
    sport, _, _, methods = make_gallery(n_queries=1, methods=("a", "b"))
    late, *others = [make_coach(f"c{i}", sports=[sport]) for i in range(3)]
    study = StudyFactory(title="t", slug="t", kinds="likert", raters_per_item=2, status="live", methods=methods)
    build_items(study)
    target = next_assignment_for(late, study)
    release_expired(now=timezone.now() + timedelta(hours=1))
    for coach in others:
        while (a := next_assignment_for(coach, study)) is not None:
            with transaction.atomic():
                complete_assignment(lock_assignment(a.token, coach))
    assert Item.objects.get(pk=target.item_id).judgements_done == 2
    with pytest.raises(ReservationLost, match="other coaches have since judged it"), transaction.atomic():
        complete_assignment(lock_assignment(target.token, late))


def test_submitting_twice_counts_once(live_study, coaches):
    assignment = next_assignment_for(coaches[0], live_study)
    with transaction.atomic():
        assert complete_assignment(lock_assignment(assignment.token, coaches[0])).created
    with transaction.atomic():
        assert not complete_assignment(lock_assignment(assignment.token, coaches[0])).created
    assert Item.objects.get(pk=assignment.item_id).judgements_done == 1


def test_a_coach_cannot_complete_another_coachs_reservation(live_study, coaches):
    assignment = next_assignment_for(coaches[0], live_study)
    with pytest.raises(ReservationLost), transaction.atomic():
        complete_assignment(lock_assignment(assignment.token, coaches[1]))


def test_the_database_refuses_over_assignment_and_double_judging(live_study, coaches):
    item = Item.objects.filter(study=live_study).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.filter(pk=item.pk).update(load=item.needed + 1)
    AssignmentFactory(item=item, coach=coaches[0], study=live_study, expires=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        AssignmentFactory(item=item, coach=coaches[0], study=live_study, expires=timezone.now())


def test_a_claim_costs_the_same_queries_in_a_small_and_a_large_study(db):
    counts = []
    for n_queries, slug in [(2, "small"), (40, "large")]:
        sport, *_, methods = make_gallery(n_queries=n_queries, methods=(f"{slug}1", f"{slug}2"), sport_slug=slug)
        coach = make_coach(f"coach-{slug}", sports=[sport])
        study = StudyFactory(title=slug, slug=slug, status="live", methods=methods)
        study.query_sports.set([sport])
        build_items(study)
        first = next_assignment_for(coach, study)  # joins the study: creates the participation row
        with transaction.atomic():
            complete_assignment(lock_assignment(first.token, coach))
        with CaptureQueriesContext(connection) as ctx:
            next_assignment_for(coach, study)
        counts.append(len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]))
    assert counts[0] == counts[1] <= 4
