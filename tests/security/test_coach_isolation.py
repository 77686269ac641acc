"""A coach sees only their own work, and never which method produced a clip.

Ana and Ben rate the same live study. Ben knows Ana's addresses (shared screen, browser
history, a guess): every one of them is a 404 for him, exactly like an address that never
existed, on the pages, the videos and the API. Nothing a coach receives names a method,
a clip id, a gallery id or a source file.
"""

from __future__ import annotations

import base64
import random
import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations.models import Judgement
from studies.models import Assignment
from tests.annotations.rating_setup import add_items, live_study, playable_gallery
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
SIDES = ("query", "left", "right", "clip")


@pytest.fixture
def rated(make_video):
    gallery = playable_gallery(make_video, clip_seconds=1.0, n_clips=4, width=160, height=96)
    study = live_study(gallery, raters_per_item=2, require_full_watch=False, show_narrations=True)
    add_items(study, gallery, ["pairwise", "likert"])
    ana, ben = (make_coach(name, sports=[gallery.sport]) for name in ("ana", "ben"))
    clients = {}
    for user in (ana, ben):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
        assert clients[user.username].get(reverse("coach:continue", args=[study.slug])).status_code == 302
    tokens = {a.coach.username: a.token for a in Assignment.objects.select_related("coach")}
    return {"gallery": gallery, "study": study, "ana": ana, "ben": ben, "clients": clients, "tokens": tokens}


def _task(token: str) -> str:
    return reverse("coach:task", kwargs={"token": token})


def _video(token: str, side: str) -> str:
    return reverse("coach:task_video", kwargs={"token": token, "side": side})


def _identities(rated) -> list[str]:
    """What would unblind a coach or point at the gallery: method names, clip and video identities."""
    gallery = rated["gallery"]
    names = [m.name for m in gallery.methods]
    clips = [c.external_id for c in gallery.clips] + [gallery.query.external_id]
    files = [c.video.source_uri for c in gallery.clips[:1]] + [gallery.query.video.source_uri, "gallery.mp4"]
    routes = ["/media/clips/", "/media/queries/", "credits", "method_pair", "data-method", "method_id"]
    return names + clips + files + routes


def test_another_coachs_task_is_404_to_read_and_to_answer(rated):
    ana_token, ben = rated["tokens"]["ana"], rated["clients"]["ben"]
    assert rated["clients"]["ana"].get(_task(ana_token)).status_code == 200
    assert ben.get(_task(ana_token)).status_code == 404
    for headers in ({}, HTMX):
        assert ben.post(_task(ana_token), {"choice": "left"}, **headers).status_code == 404
    assert not Judgement.objects.exists()
    assert Assignment.objects.get(token=ana_token).status == Assignment.Status.RESERVED


def test_another_coachs_videos_are_404_and_so_is_everyone_elses(rated):
    ana_token = rated["tokens"]["ana"]
    ana, ben, nobody = rated["clients"]["ana"], rated["clients"]["ben"], Client()
    own = ana.get(_video(ana_token, "query"), HTTP_RANGE="bytes=0-99")
    assert own.status_code == 206
    for side in SIDES:
        for client in (ben, nobody):
            response = client.get(_video(ana_token, side), HTTP_RANGE="bytes=0-99")
            assert response.status_code == 404, (side, response.status_code)
            assert not response.has_header("Content-Range")
    # Gallery ids are for researchers: a coach guessing them gets a refusal, not a clip.
    for clip in rated["gallery"].clips:
        assert ben.get(reverse("media:clip", args=[clip.pk])).status_code == 403
    assert ben.get(reverse("media:query", args=[rated["gallery"].query.pk])).status_code == 403


def test_guessed_tokens_are_404_like_taken_ones(rated):
    ben = rated["clients"]["ben"]
    # A token shaped like a real one (token_urlsafe(16)), fixed so every run tries the same guesses.
    guessed = base64.urlsafe_b64encode(random.Random(91).randbytes(16)).rstrip(b"=").decode()
    for token in (guessed, "a" * 8, "A" * 64, rated["tokens"]["ana"][:-1] + "x"):
        assert ben.get(_task(token)).status_code == 404
        assert ben.get(_video(token, "left")).status_code == 404
        assert ben.get(reverse("coach:revise", kwargs={"token": token})).status_code == 404
    # Not a token at all: no route.
    for path in ("/task/../admin/", "/task/%2e%2e/", "/task/<script>/", "/history/' OR 1=1 --/"):
        assert ben.get(path).status_code == 404


def test_another_coachs_answer_cannot_be_read_or_revised(rated):
    ana_token = rated["tokens"]["ana"]
    ana, ben = rated["clients"]["ana"], rated["clients"]["ben"]
    response = ana.post(_task(ana_token), {"choice": "left", "rationale": "ana's private reasoning"})
    assert response.status_code == 303
    judgement = Judgement.objects.get(assignment__token=ana_token)
    history = ben.get(reverse("coach:history")).content.decode()
    assert "ana's private reasoning" not in history
    assert ana_token not in history
    revise = reverse("coach:revise", kwargs={"token": ana_token})
    assert ben.get(revise).status_code == 404
    assert ben.post(revise, {"choice": "right", "rationale": "overwritten"}).status_code == 404
    judgement.refresh_from_db()
    assert (judgement.choice, judgement.rationale, judgement.revision) == ("left", "ana's private reasoning", 0)
    # Answered, the task page is no window onto the answer for anyone else either.
    assert ben.get(_task(ana_token)).status_code == 404
    assert ben.get(_video(ana_token, "left")).status_code == 404


def test_no_coach_page_names_a_method_a_clip_or_a_source(rated):
    ana_token, ana = rated["tokens"]["ana"], rated["clients"]["ana"]
    study = rated["study"]
    pages = {
        "home": ana.get(reverse("coach:home")),
        "study": ana.get(reverse("coach:study", args=[study.slug])),
        "task": ana.get(_task(ana_token)),
        "task fragment": ana.get(_task(ana_token), **HTMX),
    }
    ana.post(_task(ana_token), {"choice": "right", "rationale": "fine"})
    pages["next task"] = ana.get(reverse("coach:continue", args=[study.slug]), follow=True)
    pages["history"] = ana.get(reverse("coach:history"))
    pages["revise"] = ana.get(reverse("coach:revise", kwargs={"token": ana_token}))
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        for secret in _identities(rated):
            assert secret not in html, f"{name} shows {secret!r}"
        # Videos come only by the assignment's token and a screen side.
        for src in re.findall(r'<(?:video|source)[^>]*\ssrc="([^"]+)"', html):
            assert re.fullmatch(r"/task/[\w-]{8,64}/(query|left|right|clip)\.mp4", src), src


def _api(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def test_the_api_gives_a_coach_only_their_own_tasks_and_answers(rated):
    ana_token = rated["tokens"]["ana"]
    ana, ben = _api(rated["ana"]), _api(rated["ben"])
    task = ana.get(reverse("api:coach-task", kwargs={"token": ana_token}))
    assert task.status_code == 200
    body = task.content.decode()
    for secret in _identities(rated):
        assert secret not in body, secret
    assert ben.get(reverse("api:coach-task", kwargs={"token": ana_token})).status_code == 404
    submit = reverse("api:coach-submit", kwargs={"token": ana_token})
    assert ben.post(submit, {"choice": "left"}, format="json").status_code == 404
    assert not Judgement.objects.exists()
    assert ana.post(submit, {"choice": "left", "rationale": "ana via the API"}, format="json").status_code in {200, 201}
    mine = ben.get(reverse("api:coach-judgements")).json()
    assert "ana via the API" not in str(mine)
    revise = reverse("api:coach-judgement", kwargs={"token": ana_token})
    assert ben.get(revise).status_code in {404, 405}
    assert ben.patch(revise, {"choice": "right"}, format="json").status_code == 404
    assert Judgement.objects.get().choice == "left"


def test_the_api_keeps_researcher_data_from_coaches(rated):
    ben = _api(rated["ben"])
    study = rated["study"]
    for url in (
        reverse("api:study-list"),
        reverse("api:study-detail", args=[study.pk]),
        reverse("api:study-items", args=[study.pk]),
        reverse("api:study-judgements", args=[study.pk]),
        reverse("api:study-leaderboard", args=[study.pk]),
        reverse("api:study-exports", args=[study.pk]),
        reverse("api:method-list"),
        reverse("api:clip-list"),
        reverse("api:video-list"),
        reverse("api:candidate-list"),
    ):
        response = ben.get(url)
        assert response.status_code in {403, 404}, (url, response.status_code)
        for secret in _identities(rated)[:4]:
            assert secret not in response.content.decode()
