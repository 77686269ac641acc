"""The task page: blind markup, own reservations only, PRG and htmx submits, refusals with messages."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from annotations.models import Judgement
from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod, Video
from studies.models import Assignment, Item, Participation
from tests.annotations.rating_setup import (
    MISTAKE,
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    rows_only_gallery,
)
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def gallery():
    return rows_only_gallery()


@pytest.fixture
def coach(gallery):
    return make_coach("ana", sports=[gallery.sport])


@pytest.fixture
def other_coach(gallery):
    return make_coach("ben", sports=[gallery.sport])


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _open_next(client: Client, study) -> tuple[str, str]:
    """Follow Continue to the next task; returns (task url, page html)."""
    response = client.get(reverse("coach:continue", args=[study.slug]))
    assert response.status_code == 302
    url = response["Location"]
    page = client.get(url)
    assert page.status_code == 200
    return url, page.content.decode()


def _token(url: str) -> str:
    return re.search(r"/task/([\w-]+)/", url).group(1)


def test_continue_reserves_an_item_and_opens_its_task_page(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise", "likert"])
    url, html = _open_next(_client(coach), study)
    assignment = Assignment.objects.get(coach=coach)
    assert url == f"/task/{assignment.token}/"
    assert MISTAKE in html
    assert study.pairwise_question in html
    for side in ("query", "left", "right"):
        assert f"/task/{assignment.token}/{side}.mp4" in html
    assert "{#" not in html  # no template syntax leaks as text (a multi-line {# #} comment would)
    assert "{%" not in html
    assert 'hx-post="' in html
    assert 'action="' in html


def test_the_page_names_no_method_clip_video_or_rank():
    gallery = rows_only_gallery(ids_from=9_100_000)
    coach = make_coach("ana", sports=[gallery.sport])
    study = live_study(gallery, show_narrations=True)
    add_items(study, gallery, ["pairwise", "likert"])
    client = _client(coach)
    pages = []
    for _ in range(2):
        url, html = _open_next(client, study)
        pages.append(html)
        assignment = Assignment.objects.get(token=_token(url))
        choice = {"choice": "left"} if assignment.item.kind == "pairwise" else {"score": "3"}
        client.post(url, choice)
    forbidden = [
        *(str(c.pk) for c in Clip.objects.all()),
        *(c.external_id for c in Clip.objects.all()),
        *(str(v.pk) for v in Video.objects.all()),
        *(v.source_uri for v in Video.objects.all()),
        *(m.name for m in RetrievalMethod.objects.all()),
        *(str(m.pk) for m in RetrievalMethod.objects.all()),
        str(MistakeQuery.objects.get().pk),
        "tennis-demo-query",
        "secret",
        "rank",
        "swapped",
        "credits",
        "pairwise:0",
    ]
    for html in pages:
        for word in forbidden:
            assert word not in html, f"{word!r} appears on a coach's page"
    # Narrations are content the coach is meant to read.
    assert "Keep the elbow above the shoulder" in pages[0]


def test_other_coaches_get_a_404_for_your_task(gallery, coach, other_coach):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise"])
    url, _ = _open_next(_client(coach), study)
    intruder = _client(other_coach)
    assert intruder.get(url).status_code == 404
    assert intruder.post(url, {"choice": "left"}).status_code == 404
    assert not Judgement.objects.exists()
    assert Client().get(url).status_code == 302  # anonymous: to the login page
    assert "/accounts/login/" in Client().get(url)["Location"]


def test_a_plain_form_post_records_the_answer_and_redirects_to_the_next_item(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise", "likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    response = client.post(url, {"choice": "right", "rationale": "Shows the elbow fix.", "watch_left": "1900"})
    assert response.status_code == 303
    following = Assignment.objects.get(coach=coach, status="reserved")
    assert response["Location"] == f"/task/{following.token}/"
    judgement = Judgement.objects.get()
    assert (judgement.choice, judgement.rationale) == ("right", "Shows the elbow fix.")
    # Reloading the answered page moves on rather than showing the old item.
    assert client.get(url)["Location"] == reverse("coach:continue", args=[study.slug])


def test_an_htmx_submit_answers_with_the_next_task_and_pushes_its_url(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise", "likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    response = client.post(url, {"choice": "equal"}, **HTMX)
    assert response.status_code == 200
    following = Assignment.objects.get(coach=coach, status="reserved")
    assert response["HX-Push-Url"] == f"/task/{following.token}/"
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="task"' in html
    assert f"/task/{following.token}/clip.mp4" in html
    assert "Saved" in html
    assert "1 of" in html or "1 judged" in html


def test_the_same_form_twice_records_one_judgement_and_shows_the_next_item(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert", "likert", "likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    first = client.post(url, {"score": "4"}, **HTMX)
    again = client.post(url, {"score": "2"}, **HTMX)
    assert first.status_code == again.status_code == 200
    assert Judgement.objects.count() == 1
    assert Judgement.objects.get().score == 4
    following = Assignment.objects.get(coach=coach, status="reserved")
    assert again["HX-Push-Url"] == f"/task/{following.token}/"
    assert Participation.objects.get(coach=coach).done_count == 1
    # The resent form carried another answer (changed while the first was in flight): the coach is told
    # which one was kept and where to change it, instead of silently losing the second.
    html = again.content.decode()
    assert "That item was already answered (a score of 4); the first answer was kept." in html
    assert "My answers" in html
    # An identical resend (a double click) needs no word.
    url, _ = _open_next(client, study)
    client.post(url, {"score": "3"}, **HTMX)
    assert "already answered" not in client.post(url, {"score": "3"}, **HTMX).content.decode()


def test_a_score_outside_the_scale_is_refused_and_the_answer_kept(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    response = client.post(url, {"score": "9", "rationale": "Great angle on the toss."})
    assert response.status_code == 422
    html = response.content.decode()
    assert "9 is outside this study&#x27;s scale: choose from 1 to 5." in html
    assert "Great angle on the toss." in html
    assert not Judgement.objects.exists()
    # The htmx path swaps the same message in (422 answers are swapped, see _base.html).
    htmx = client.post(url, {"score": "abc"}, **HTMX)
    assert htmx.status_code == 422
    assert "&#x27;abc&#x27; is not a score: choose a number from 1 to 5." in htmx.content.decode()
    assert "HX-Push-Url" not in htmx


def test_a_missing_choice_is_refused_with_what_to_do(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    response = client.post(url, {"rationale": "hmm"})
    assert response.status_code == 422
    assert "Choose left, right, equally helpful or neither helps." in response.content.decode()


@pytest.mark.parametrize("swapped", [False, True])
def test_screen_sides_are_stored_as_the_items_clips(gallery, coach, swapped):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise"], swapped=swapped)
    client = _client(coach)
    url, _ = _open_next(client, study)
    client.post(url, {"choice": "left", "watch_query": "2000", "watch_left": "1500", "watch_right": "700"})
    judgement = Judgement.objects.get()
    assert judgement.choice == "left"
    assert judgement.winner == ("b" if swapped else "a")
    expected = {"query": 2000, "b": 1500, "a": 700} if swapped else {"query": 2000, "a": 1500, "b": 700}
    assert judgement.watch_ms == expected


def test_a_study_that_requires_full_watching_refuses_a_short_watch(gallery, coach):
    study = live_study(gallery, require_full_watch=True)
    add_items(study, gallery, ["pairwise", "pairwise"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    # Clips are 2 s long; 1.5 s of the right clip is not the whole clip.
    short = client.post(url, {"choice": "left", "watch_query": "2000", "watch_left": "1990", "watch_right": "1500"})
    assert short.status_code == 422
    assert "Still to watch: the right clip." in short.content.decode()
    assert not Judgement.objects.exists()
    full = client.post(url, {"choice": "left", "watch_query": "1950", "watch_left": "1990", "watch_right": "2400"})
    assert full.status_code == 303
    assert Judgement.objects.get().watch_ms["b"] == 2400


def test_a_flag_needs_no_watching_and_records_the_reason(gallery, coach):
    study = live_study(gallery, require_full_watch=True)
    add_items(study, gallery, ["pairwise", "likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    response = client.post(url, {"flag": "no_playback", "choice": "left"})
    assert response.status_code == 303
    judgement = Judgement.objects.get()
    assert (judgement.flag, judgement.choice) == ("no_playback", "")
    assert Item.objects.get(pk=judgement.item_id).flagged == 1


def test_every_post_needs_the_csrf_token(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(coach)
    url, html = _open_next(client, study)
    assert client.post(url, {"score": "3"}).status_code == 403
    assert not Judgement.objects.exists()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert client.post(url, {"score": "3", "csrfmiddlewaretoken": token}).status_code == 303
    # htmx sends the token from <body hx-headers> instead of a form field.
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_the_last_item_leads_to_the_done_page_with_the_reason(gallery, coach):
    study = live_study(gallery, quota_per_coach=1)
    add_items(study, gallery, ["likert", "likert"])
    client = _client(coach)
    url, html = _open_next(client, study)
    assert "0 of 1 for you" in html
    response = client.post(url, {"score": "5"}, **HTMX)
    assert response["HX-Push-Url"] == reverse("coach:done", args=[study.slug])
    assert "You have judged your 1 items for this study." in response.content.decode()
    page = client.get(reverse("coach:continue", args=[study.slug]), follow=True)
    assert "You have reached your quota" in page.content.decode()


def test_a_break_is_suggested_after_the_studys_number_of_items_in_a_row(gallery, coach):
    study = live_study(gallery, break_every=2, raters_per_item=1)
    add_items(study, gallery, ["likert"] * 4)
    client = _client(coach)
    url, html = _open_next(client, study)
    assert "in a row" not in html
    response = client.post(url, {"score": "3"}, **HTMX)
    assert "in a row" not in response.content.decode()
    url = response["HX-Push-Url"]
    response = client.post(url, {"score": "3"}, **HTMX)
    assert "You have judged 2 items in a row." in response.content.decode()


def test_narrations_show_only_when_the_study_says_so(gallery, coach):
    study = live_study(gallery, show_narrations=False)
    add_items(study, gallery, ["pairwise"])
    _, html = _open_next(_client(coach), study)
    assert "Keep the elbow above the shoulder" not in html
