"""The coach API beside the task page's look-ahead: the same next item, and a look-ahead can't be answered early."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotations.models import Judgement
from studies.models import Assignment, Item
from tests.annotations.judged_study import open_study
from tests.annotations.rating_setup import fast_password_hashing  # noqa: F401 - autouse

pytestmark = pytest.mark.django_db


@pytest.fixture
def judged():
    return open_study(slug="both", methods=("zebra-retriever", "yak-retriever"), n_queries=2, n_coaches=3)


def _answer_for(task: dict) -> dict:
    return {"choice": "left"} if task["kind"] == "pairwise" else {"score": 4}


def _page_looks_ahead(coach, token: str) -> Assignment:
    """What the task page does once its clips can play: reserve the next item."""
    page = Client()
    page.force_login(coach)
    assert page.post(reverse("coach:look_ahead", args=[token]), HTTP_HX_REQUEST="true").status_code == 200
    return Assignment.objects.get(coach=coach, status=Assignment.Status.UPCOMING)


def test_next_hands_out_the_item_the_page_looked_ahead_to(api, judged):
    coach = judged.coaches[0]
    client = api(coach)
    study_next = f"/api/v1/coach/studies/{judged.study.slug}/next/"
    task = client.post(study_next).json()["task"]
    upcoming = _page_looks_ahead(coach, task["token"])
    # While the current task is open, next still returns it, not the look-ahead.
    assert client.post(study_next).json()["task"]["token"] == task["token"]
    answered = client.post(f"/api/v1/coach/tasks/{task['token']}/answer/", _answer_for(task), format="json")
    assert answered.status_code == 201
    following = client.post(study_next).json()["task"]
    assert following["token"] == upcoming.token
    assert following["status"] == "reserved"
    item = Item.objects.get(pk=upcoming.item_id)
    assert (item.load, item.judgements_done) == (1, 0)


def test_a_look_ahead_is_not_answered_through_the_api_before_its_turn(api, judged):
    coach = judged.coaches[0]
    client = api(coach)
    task = client.post(f"/api/v1/coach/studies/{judged.study.slug}/next/").json()["task"]
    upcoming = _page_looks_ahead(coach, task["token"])
    shown = client.get(f"/api/v1/coach/tasks/{upcoming.token}/")
    assert shown.status_code == 200
    assert shown.json()["status"] == "upcoming"
    kind = Item.objects.get(pk=upcoming.item_id).kind
    answer = {"choice": "left"} if kind == "pairwise" else {"score": 4}
    refused = client.post(f"/api/v1/coach/tasks/{upcoming.token}/answer/", answer, format="json")
    assert refused.status_code == 409
    assert "not open to you yet" in refused.json()["detail"]
    assert not Judgement.objects.exists()
    # Another coach can't see it at all.
    assert api(judged.coaches[1]).get(f"/api/v1/coach/tasks/{upcoming.token}/").status_code == 404
