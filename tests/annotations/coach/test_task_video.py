"""Task videos by screen side: the right segment, ranges for players, and nothing for anyone else."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotations.coach.judging import Answer, submit
from retrieval_backend.playback import render_segment_for
from studies.assignment import next_assignment_for, release_assignment
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    playable_gallery,
)
from tests.factories import UserFactory
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery(make_video):
    return playable_gallery(make_video, clip_seconds=1.0, n_clips=4, width=160, height=96)


@pytest.fixture
def coach(gallery):
    return make_coach("ana", sports=[gallery.sport])


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(assignment, side: str) -> str:
    return reverse("coach:task_video", kwargs={"token": assignment.token, "side": side})


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("swapped", [False, True])
def test_each_side_plays_the_clip_the_item_puts_there(gallery, coach, swapped):
    study = live_study(gallery)
    (item,) = add_items(study, gallery, ["pairwise"], swapped=swapped)
    assignment = next_assignment_for(coach, study)
    client = _client(coach)
    left, right = (item.clip_b, item.clip_a) if swapped else (item.clip_a, item.clip_b)
    for side, clip in (("left", left), ("right", right)):
        response = client.get(_url(assignment, side))
        assert response.status_code == 200
        assert response["Content-Type"] == "video/mp4"
        assert _body(response) == render_segment_for(clip.video, clip.start_s, clip.end_s).read_bytes()
    query = client.get(_url(assignment, "query"))
    assert _body(query) == render_segment_for(item.query.video, item.query.start_s, item.query.end_s).read_bytes()


def test_players_get_byte_ranges(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert"])
    assignment = next_assignment_for(coach, study)
    response = _client(coach).get(_url(assignment, "clip"), HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert len(_body(response)) == 100
    assert response["Accept-Ranges"] == "bytes"
    assert "private" in response["Cache-Control"]


def test_a_side_the_item_does_not_have_is_a_404(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert"])
    assignment = next_assignment_for(coach, study)
    client = _client(coach)
    assert client.get(_url(assignment, "left")).status_code == 404
    assert client.get(_url(assignment, "right")).status_code == 404
    assert client.get(f"/task/{assignment.token}/other.mp4").status_code == 404


def test_nobody_but_the_holder_gets_the_video(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise"])
    assignment = next_assignment_for(coach, study)
    other = make_coach("ben", sports=[gallery.sport])
    staff = UserFactory(username="researcher", password="x", superuser=True)
    for client in (_client(other), _client(staff), Client()):
        for side in ("query", "left", "right"):
            response = client.get(_url(assignment, side))
            assert response.status_code == 404
            assert b"ftyp" not in _body(response)
    # An unknown token looks exactly like someone else's.
    assert _client(other).get("/task/AAAAAAAAAAAAAAAAAAAAAA/left.mp4").status_code == 404


def test_answered_items_keep_playing_for_revision_and_released_ones_stop(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert", "likert"])
    client = _client(coach)
    answered = next_assignment_for(coach, study)
    submit(coach, answered.token, Answer(score=3))
    assert client.get(_url(answered, "clip")).status_code == 200
    released = next_assignment_for(coach, study)
    release_assignment(released)
    assert client.get(_url(released, "clip")).status_code == 404
    assert client.post(_url(answered, "clip")).status_code == 405
