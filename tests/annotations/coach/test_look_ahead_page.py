"""The task page's look-ahead: the next item reserved on request, its clips offered blind, handed over on submit."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from annotations.coach.judging import Answer, submit
from annotations.models import Judgement
from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod, Video
from retrieval_backend.playback import render_segment_for
from studies.assignment import release_assignment
from studies.models import Assignment, Participation
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    playable_gallery,
    rows_only_gallery,
)
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def gallery():
    return rows_only_gallery(ids_from=9_200_000)


@pytest.fixture
def coach(gallery):
    return make_coach("ana", sports=[gallery.sport])


def _client(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _open_next(client: Client, study) -> tuple[str, str]:
    url = client.get(reverse("coach:continue", args=[study.slug]))["Location"]
    return url, client.get(url).content.decode()


def _token(url: str) -> str:
    return re.search(r"/task/([\w-]+)/", url).group(1)


def _look_ahead(client: Client, task_url: str):
    return client.post(reverse("coach:look_ahead", args=[_token(task_url)]), **HTMX)


def test_opening_a_task_reserves_nothing_more_and_says_where_to_look_ahead(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise", "likert"])
    url, html = _open_next(_client(coach), study)
    assert Assignment.objects.filter(coach=coach).count() == 1  # the page stays as cheap as before
    assert f'data-look-ahead="{reverse("coach:look_ahead", args=[_token(url)])}"' in html
    assert 'id="preload"' in html
    assert "<script>" not in html  # the CSP allows no inline script
    assert "style=" not in html  # nor inline style


def test_the_look_ahead_answers_the_next_items_clips_blind_and_the_same_when_asked_again(gallery, coach):
    study = live_study(gallery, show_narrations=True)
    add_items(study, gallery, ["likert", "pairwise"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    response = _look_ahead(client, url)
    assert response.status_code == 200
    upcoming = Assignment.objects.get(coach=coach, status=Assignment.Status.UPCOMING)
    assert upcoming.token != _token(url)
    assert Participation.objects.get(coach=coach).upcoming == upcoming
    html = response.content.decode()
    srcs = re.findall(r'<video src="([^"]+)" preload="auto" muted', html)
    assert srcs == [f"/task/{upcoming.token}/{side}.mp4" for side in ("query", "left", "right")]
    forbidden = [
        *(str(c.pk) for c in Clip.objects.all()),
        *(c.external_id for c in Clip.objects.all()),
        *(str(v.pk) for v in Video.objects.all()),
        *(v.source_uri for v in Video.objects.all()),
        *(m.name for m in RetrievalMethod.objects.all()),
        *(str(m.pk) for m in RetrievalMethod.objects.all()),
        str(MistakeQuery.objects.get().pk),
        "rank",
        "swapped",
        "pairwise:1",
    ]
    for word in forbidden:
        assert word not in html, f"{word!r} appears in the look-ahead"
    assert _look_ahead(client, url).content == response.content
    assert Assignment.objects.filter(coach=coach).count() == 2


def test_submitting_swaps_in_the_look_ahead_the_page_has_preloaded(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert", "likert", "likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    _look_ahead(client, url)
    upcoming = Assignment.objects.get(coach=coach, status=Assignment.Status.UPCOMING)
    response = client.post(url, {"score": "4"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == f"/task/{upcoming.token}/"
    html = response.content.decode()
    assert f'<video src="/task/{upcoming.token}/clip.mp4"' in html  # the same URLs the page preloaded
    assert f'data-look-ahead="{reverse("coach:look_ahead", args=[upcoming.token])}"' in html
    assert Assignment.objects.get(pk=upcoming.pk).status == Assignment.Status.RESERVED
    # Without JavaScript the same submit redirects to it too.
    _look_ahead(client, response["HX-Push-Url"])
    third = Assignment.objects.get(coach=coach, status=Assignment.Status.UPCOMING)
    plain = client.post(response["HX-Push-Url"], {"score": "2"})
    assert plain["Location"] == f"/task/{third.token}/"


def test_the_look_ahead_opens_only_in_its_turn(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert", "likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    _look_ahead(client, url)
    upcoming = Assignment.objects.get(coach=coach, status=Assignment.Status.UPCOMING)
    ahead_url = f"/task/{upcoming.token}/"
    # Its address leads to the item at hand; an answer sent to it is refused with a message.
    assert client.get(ahead_url)["Location"] == reverse("coach:continue", args=[study.slug])
    response = client.post(ahead_url, {"score": "5"})
    assert response["Location"] == url
    assert "not open to you yet" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert not Judgement.objects.exists()
    assert Assignment.objects.get(pk=upcoming.pk).status == Assignment.Status.UPCOMING


def test_nothing_to_look_ahead_to_is_a_204(gallery, coach):
    study = live_study(gallery, quota_per_coach=1, raters_per_item=1)
    add_items(study, gallery, ["likert", "likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    assert _look_ahead(client, url).status_code == 204  # the quota leaves room for this item only
    study.quota_per_coach = None
    study.save()
    assert _look_ahead(client, url).status_code == 200
    # The other coach finds both items held: one judged now, one looked ahead to.
    ben = _client(make_coach("ben", sports=[gallery.sport]))
    assert ben.get(reverse("coach:continue", args=[study.slug]))["Location"] == reverse("coach:done", args=[study.slug])
    # The last item: nothing after it.
    client.post(url, {"score": "3"})
    last_url, _ = _open_next(client, study)
    assert _look_ahead(client, last_url).status_code == 204


def test_the_look_ahead_needs_the_coachs_own_token_a_post_and_the_csrf_token(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert", "likert"])
    url, _ = _open_next(_client(coach), study)
    intruder = _client(make_coach("ben", sports=[gallery.sport]))
    assert _look_ahead(intruder, url).status_code == 404
    assert _client(coach).get(reverse("coach:look_ahead", args=[_token(url)])).status_code == 405
    assert (
        _client(coach, enforce_csrf_checks=True).post(reverse("coach:look_ahead", args=[_token(url)])).status_code
        == 403
    )
    assert not Assignment.objects.filter(status=Assignment.Status.UPCOMING).exists()


def test_a_look_ahead_plays_for_its_coach_only(make_video):
    gallery = playable_gallery(make_video, clip_seconds=1.0, n_clips=4, width=160, height=96)
    coach = make_coach("ana", sports=[gallery.sport])
    study = live_study(gallery)
    add_items(study, gallery, ["likert", "likert"])
    client = _client(coach)
    url, _ = _open_next(client, study)
    _look_ahead(client, url)
    upcoming = Assignment.objects.select_related("item__clip_a__video").get(status=Assignment.Status.UPCOMING)
    clip_url = reverse("coach:task_video", kwargs={"token": upcoming.token, "side": "clip"})
    response = client.get(clip_url, HTTP_RANGE="bytes=0-")
    assert response.status_code == 206
    body = b"".join(response.streaming_content) if response.streaming else response.content
    clip = upcoming.item.clip_a
    assert body == render_segment_for(clip.video, clip.start_s, clip.end_s).read_bytes()
    assert _client(make_coach("ben", sports=[gallery.sport])).get(clip_url).status_code == 404
    # A look-ahead given back (it expired, say) plays no more.
    submit(coach, _token(url), Answer(score=3))
    release_assignment(upcoming)
    assert client.get(clip_url).status_code == 404
