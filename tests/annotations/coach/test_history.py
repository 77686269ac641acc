"""A coach's history of answers: their own only, paginated, recent ones revisable while the study is live."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotations.coach.judging import Answer, submit
from annotations.models import Judgement, JudgementRevision
from studies.assignment import next_assignment_for
from studies.models import Study
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    rows_only_gallery,
)
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery():
    return rows_only_gallery()


@pytest.fixture
def coach(gallery):
    return make_coach("ana", sports=[gallery.sport])


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _answer_all(coach, study, n: int) -> list[Judgement]:
    judgements = []
    for _ in range(n):
        assignment = next_assignment_for(coach, study)
        answer = Answer(choice="left") if assignment.item.kind == "pairwise" else Answer(score=2)
        judgements.append(submit(coach, assignment.token, answer)[0])
    return judgements


def test_the_history_lists_only_your_answers_newest_first_in_pages(gallery, coach):
    study = live_study(gallery, raters_per_item=2)
    add_items(study, gallery, ["likert"] * 30)
    other = make_coach("ben", sports=[gallery.sport])
    _answer_all(other, study, 1)
    mine = _answer_all(coach, study, 27)
    Judgement.objects.filter(pk=mine[-1].pk).update(rationale="My latest reasoning.")
    client = _client(coach)
    first = client.get(reverse("coach:history")).content.decode()
    assert first.count("<tr>") == 1 + 25  # header + a page of 25
    assert "My latest reasoning." in first
    assert "Page 1 of 2" in first
    second = client.get(reverse("coach:history") + "?page=2").content.decode()
    assert second.count("<tr>") == 1 + 2
    # Change links only on the most recent answers (annotations.coach.judging.REVISABLE_LAST = 20).
    assert first.count(">Change</a>") == 20
    assert ">Change</a>" not in second


def test_a_recent_answer_can_be_changed_and_the_old_one_is_kept(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise"], swapped=True)
    (judgement,) = _answer_all(coach, study, 1)
    url = reverse("coach:revise", args=[judgement.assignment.token])
    client = _client(coach)
    page = client.get(url).content.decode()
    assert 'value="left" data-key="1" aria-keyshortcuts="1" checked' in page
    assert f"/task/{judgement.assignment.token}/left.mp4" in page  # the clips play again
    response = client.post(url, {"choice": "right", "rationale": "On second look, the right one."})
    assert response["Location"] == reverse("coach:history")
    judgement.refresh_from_db()
    assert (judgement.choice, judgement.winner, judgement.revision) == ("right", "a", 1)
    assert JudgementRevision.objects.get(judgement=judgement).choice == "left"
    assert "Your answer was changed" in client.get(reverse("coach:history")).content.decode()


def test_a_change_outside_the_scale_is_refused_with_the_message(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert"])
    (judgement,) = _answer_all(coach, study, 1)
    response = _client(coach).post(
        reverse("coach:revise", args=[judgement.assignment.token]), {"score": "0", "rationale": "keep me"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "0 is outside this study&#x27;s scale: choose from 1 to 5." in html
    assert "keep me" in html
    judgement.refresh_from_db()
    assert (judgement.score, judgement.revision) == (2, 0)


def test_answers_in_a_closed_study_and_flags_are_final(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert", "likert"])
    (answered,) = _answer_all(coach, study, 1)
    flagged, _ = submit(coach, next_assignment_for(coach, study).token, Answer(flag="cant_judge"))
    client = _client(coach)
    response = client.get(reverse("coach:revise", args=[flagged.assignment.token]), follow=True)
    assert "this one is final" in response.content.decode()
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    assert ">Change</a>" not in client.get(reverse("coach:history")).content.decode()
    client.post(reverse("coach:revise", args=[answered.assignment.token]), {"score": "5"})
    answered.refresh_from_db()
    assert answered.score == 2


def test_another_coach_cannot_see_or_change_your_answer(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert"])
    (judgement,) = _answer_all(coach, study, 1)
    intruder = _client(make_coach("ben", sports=[gallery.sport]))
    url = reverse("coach:revise", args=[judgement.assignment.token])
    assert intruder.get(url).status_code == 404
    assert intruder.post(url, {"score": "5"}).status_code == 404
    assert "You have not answered anything yet." in intruder.get(reverse("coach:history")).content.decode()
    judgement.refresh_from_db()
    assert judgement.score == 2
