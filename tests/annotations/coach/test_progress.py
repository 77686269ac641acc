"""The progress line counts what is left for this coach, and moves as they judge."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from studies.models import Study
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    rows_only_gallery,
)
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fresh_counts():
    # The counts are cached a minute; each test starts from what the database says.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def gallery():
    return rows_only_gallery()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _judge(client: Client, study: Study, times: int) -> str:
    """Judge ``times`` items through the page, as htmx does; returns the last page shown."""
    url = client.get(reverse("coach:continue", args=[study.slug]))["Location"]
    html = client.get(url).content.decode()
    for _ in range(times):
        response = client.post(url, {"score": "3"}, **HTMX)
        url, html = response["HX-Push-Url"], response.content.decode()
    return html


def test_the_count_is_what_is_left_for_this_coach_and_falls_with_each_judgement(gallery):
    study = live_study(gallery, raters_per_item=2, kinds=Study.Kinds.LIKERT)
    add_items(study, gallery, ["likert"] * 4)
    ana = _client(make_coach("ana", sports=[gallery.sport]))
    assert "0 of about 4 for you" in _judge(ana, study, 0)
    # Each item ana judges still needs a second coach, so the study's open count stays at 4; hers falls.
    assert "1 of about 4 for you" in _judge(ana, study, 1)
    assert "3 of about 4 for you" in _judge(ana, study, 2)
    cache.clear()  # a minute later, counted afresh: the same
    assert "3 of about 4 for you" in _judge(ana, study, 0)


def test_items_other_coaches_filled_and_the_quota_bound_the_count(gallery):
    study = live_study(gallery, raters_per_item=1, kinds=Study.Kinds.LIKERT)
    add_items(study, gallery, ["likert"] * 5)
    _judge(_client(make_coach("ben", sports=[gallery.sport])), study, 2)
    cache.clear()
    ana_user = make_coach("ana", sports=[gallery.sport])
    # Ben filled two items and holds a third: two are left for ana, whatever the study's size.
    assert "0 of about 2 for you" in _judge(_client(ana_user), study, 0)
    Study.objects.filter(pk=study.pk).update(quota_per_coach=1)
    assert "0 of 1 for you" in _judge(_client(ana_user), study, 0)


def test_the_task_page_and_the_api_say_the_same(gallery):
    study = live_study(gallery, raters_per_item=2, kinds=Study.Kinds.LIKERT)
    add_items(study, gallery, ["likert"] * 3)
    user = make_coach("ana", sports=[gallery.sport])
    html = _judge(_client(user), study, 1)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    progress = api.post(f"/api/v1/coach/studies/{study.slug}/next/").json()["task"]["progress"]
    assert progress["text"] == "1 of about 3 for you"
    assert progress["text"] in html
