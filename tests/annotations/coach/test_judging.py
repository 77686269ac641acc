"""Recording answers: sides mapped to methods, the scale enforced, one judgement per submit, revisions kept."""

from __future__ import annotations

import pytest

from annotations.coach.judging import Answer, JudgementError, revise, submit
from annotations.models import Judgement
from studies.assignment import AssignmentError, next_assignment_for
from studies.items import build_items
from studies.models import Item, Study

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(study):
    build_items(study)
    Study.objects.filter(pk=study.pk).update(status="live")
    study.refresh_from_db()
    return study


def _next_of_kind(coach, study, kind):
    while (assignment := next_assignment_for(coach, study)) is not None:
        if assignment.item.kind == kind:
            return assignment
        submit(coach, assignment.token, Answer(flag="other"))
    raise AssertionError(f"no {kind} item left")


@pytest.mark.parametrize("swapped", [False, True])
def test_screen_sides_are_mapped_back_to_the_stored_clips(live, coaches, swapped):
    Item.objects.filter(study=live).update(swapped=swapped)
    assignment = _next_of_kind(coaches[0], live, "pairwise")
    judgement, created = submit(coaches[0], assignment.token, Answer(choice="left"))
    assert created
    assert judgement.choice == "left"
    assert judgement.winner == ("b" if swapped else "a")


def test_scores_outside_the_scale_are_refused_with_the_range(live, coaches):
    assignment = _next_of_kind(coaches[0], live, "likert")
    with pytest.raises(JudgementError, match="outside this study's scale: choose from 1 to 5"):
        submit(coaches[0], assignment.token, Answer(score=6))
    with pytest.raises(JudgementError, match="takes a score"):
        submit(coaches[0], assignment.token, Answer(choice="left"))
    # Items of the other kind served first were flagged by _next_of_kind; the refused answers wrote nothing.
    assert not Judgement.objects.filter(item=assignment.item).exists()
    judgement, _ = submit(coaches[0], assignment.token, Answer(score=4, rationale="  Shows the elbow fix.  "))
    assert (judgement.score, judgement.rationale) == (4, "Shows the elbow fix.")
    assert judgement.server_ms >= 0


def test_the_same_submit_twice_records_one_judgement(live, coaches):
    assignment = _next_of_kind(coaches[0], live, "likert")
    first, created = submit(coaches[0], assignment.token, Answer(score=3))
    again, created_again = submit(coaches[0], assignment.token, Answer(score=5))
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert again.score == 3
    assert Item.objects.get(pk=assignment.item_id).judgements_done == 1


def test_a_flag_goes_out_of_the_counts_and_frees_the_slot(live, coaches):
    assignment = next_assignment_for(coaches[0], live)
    judgement, _ = submit(coaches[0], assignment.token, Answer(flag="no_playback"))
    item = Item.objects.get(pk=assignment.item_id)
    assert (item.load, item.judgements_done, item.flagged) == (0, 0, 1)
    assert not judgement.counts
    # The flagging coach never sees the item again.
    assert next_assignment_for(coaches[0], live).item_id != item.pk


def test_another_coach_cannot_submit_your_reservation(live, coaches):
    assignment = next_assignment_for(coaches[0], live)
    with pytest.raises(AssignmentError, match="not reserved for you"):
        submit(coaches[1], assignment.token, Answer(score=3, choice="left"))


def test_a_revision_keeps_the_old_answer(live, coaches):
    assignment = _next_of_kind(coaches[0], live, "likert")
    judgement, _ = submit(coaches[0], assignment.token, Answer(score=2, rationale="meh"))
    revised = revise(coaches[0], judgement.pk, Answer(score=4, rationale="on second look, yes"))
    assert (revised.score, revised.revision) == (4, 1)
    old = revised.revisions.get()
    assert (old.revision, old.score, old.rationale) == (0, 2, "meh")
    with pytest.raises(JudgementError, match="no such judgement"):
        revise(coaches[1], judgement.pk, Answer(score=1))
    Study.objects.filter(pk=live.pk).update(status="closed")
    with pytest.raises(JudgementError, match="live study"):
        revise(coaches[0], judgement.pk, Answer(score=5))


@pytest.mark.django_db(transaction=True)
def test_an_answer_is_recorded_when_marking_the_report_stale_fails_after_the_commit(live, coaches, monkeypatch):
    """The database or the broker failing right after the commit costs the report a refresh, not the coach's answer."""
    calls = []

    def broken(study_id, **kwargs):
        calls.append(study_id)
        raise ConnectionError("the broker went away")

    monkeypatch.setattr("annotations.coach.judging.report_is_stale", broken)
    assignment = _next_of_kind(coaches[0], live, "likert")
    judgement, created = submit(coaches[0], assignment.token, Answer(score=3))
    assert created
    assert calls
    assert set(calls) == {live.pk}
    assert Judgement.objects.get(pk=judgement.pk).score == 3
