"""The coach's API for a mobile client: the web page's rules, own reservations only, and blind answers."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from annotations.models import Judgement
from studies.models import Assignment, Study
from tests.annotations.judged_study import open_study
from tests.annotations.rating_setup import fast_password_hashing  # noqa: F401 - autouse
from tests.api.study_people import json_keys
from tests.factories import StudyFactory
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db

METHODS = ("zebra-retriever", "yak-retriever")
# Keys that would tell a coach which method, clip or rank is behind a side.
REVEALING = {"method", "methods", "method_pair", "credits_a", "credits_b", "clip_a", "clip_b", "rank", "swapped"}
REVEALING |= {"winner", "item", "clip", "candidate", "is_gold"}


def _blind(response) -> dict:
    """The response's JSON, after checking it names no method and carries no revealing key."""
    text = response.content.decode()
    for name in METHODS:
        assert name not in text
    body = response.json()
    assert not json_keys(body) & REVEALING, json_keys(body) & REVEALING
    return body


@pytest.fixture
def judged():
    return open_study(slug="both", methods=METHODS, n_queries=1, n_coaches=3)


def _next(client, study) -> dict:
    response = client.post(f"/api/v1/coach/studies/{study.slug}/next/")
    assert response.status_code == 200, response.content
    return _blind(response)


def _answer_for(task: dict) -> dict:
    return {"choice": "left"} if task["kind"] == "pairwise" else {"score": 4}


def test_a_coach_lists_the_studies_open_to_them_and_nobody_else_sees_it(api, judged):
    coach = judged.coaches[0]
    listed = _blind(api(coach).get("/api/v1/coach/studies/"))
    assert [card["slug"] for card in listed] == ["both"]
    card = listed[0]
    assert card["progress"]["done"] == 0
    assert card["started"] is False
    assert card["instructions_html"] == ""

    Study.objects.filter(pk=judged.study.pk).update(min_years_coaching=10)
    newcomer = make_coach("newcomer", years=1)
    assert api(newcomer).get("/api/v1/coach/studies/").json() == []
    assert api(newcomer).post("/api/v1/coach/studies/both/next/").status_code == 404
    assert api(None).get("/api/v1/coach/studies/").status_code == 401
    assert api(None).post("/api/v1/coach/studies/both/next/").status_code == 401
    draft = StudyFactory(title="Draft", slug="draft-study")
    assert api(coach).post(f"/api/v1/coach/studies/{draft.slug}/next/").status_code == 404
    assert api(coach).post("/api/v1/coach/studies/no-such-study/next/").status_code == 404


def test_next_reserves_one_item_and_gives_the_same_task_until_it_is_answered(api, judged):
    client = api(judged.coaches[0])
    first = _next(client, judged.study)["task"]
    assert first["status"] == "reserved"
    assert _next(client, judged.study)["task"]["token"] == first["token"]
    assert Assignment.objects.filter(coach=judged.coaches[0]).count() == 1
    assert client.get(f"/api/v1/coach/tasks/{first['token']}/").json() == first
    sides = [player["side"] for player in first["players"]]
    assert sides == (["query", "left", "right"] if first["kind"] == "pairwise" else ["query", "clip"])
    for player in first["players"]:
        # The very URLs the task page plays: a task token and a screen side, nothing else.
        path = reverse("coach:task_video", kwargs={"token": first["token"], "side": player["side"]})
        assert player["url"] == f"http://testserver{path}"
    if first["kind"] == "pairwise":
        assert [c["value"] for c in first["choices"]] == ["left", "right", "equal", "neither"]
    else:
        assert [p["value"] for p in first["scale"]] == ["1", "2", "3", "4", "5"]
        assert first["scale"][0]["label"] == "Not helpful at all"


def test_another_coachs_token_is_a_404_like_a_token_that_never_existed(api, judged):
    task = _next(api(judged.coaches[0]), judged.study)["task"]
    intruder = api(judged.coaches[1])
    for response in (
        intruder.get(f"/api/v1/coach/tasks/{task['token']}/"),
        intruder.post(f"/api/v1/coach/tasks/{task['token']}/answer/", _answer_for(task)),
        intruder.get("/api/v1/coach/tasks/neverexisted123/"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert api(None).get(f"/api/v1/coach/tasks/{task['token']}/").status_code == 401
    assert not Judgement.objects.exists()
    assert Assignment.objects.get(token=task["token"]).status == "reserved"


def test_submitting_the_same_task_twice_records_one_judgement(api, judged):
    coach = judged.coaches[0]
    client = api(coach)
    task = _next(client, judged.study)["task"]
    url = f"/api/v1/coach/tasks/{task['token']}/answer/"
    answer = {**_answer_for(task), "rationale": "Élan: keep the elbow high 🎾", "watch_ms": {"query": 3000}}
    first = client.post(url, answer)
    assert first.status_code == 201, first.json()
    again = client.post(url, answer)
    assert again.status_code == 200
    assert _blind(again)["created"] is False
    assert again.json()["judgement"] == _blind(first)["judgement"]
    assert Judgement.objects.filter(coach=coach).count() == 1
    judgement = Judgement.objects.get(coach=coach)
    assert judgement.rationale == "Élan: keep the elbow high 🎾"
    assert judgement.watch_ms == {"query": 3000}
    following = _next(client, judged.study)["task"]
    assert following["token"] != task["token"]
    assert following["progress"]["done"] == 1


@pytest.mark.parametrize(
    ("kind", "answer", "words"),
    [
        ("pairwise", {"score": 3}, "Choose left, right"),
        ("pairwise", {"choice": "left", "score": 3}, "takes a choice, not a score"),
        ("pairwise", {"choice": "up"}, "not a valid choice"),
        ("pairwise", {"choice": 7}, "not a valid choice"),
        ("pairwise", {"flag": "bored"}, "not a valid choice"),
        ("pairwise", {"choice": "left", "watch_ms": {"top": 10}}, "no side top"),
        ("pairwise", {"choice": "left", "watch_ms": {"left": -5}}, "greater than or equal to 0"),
        ("pairwise", {"choice": "left", "watch_ms": {"left": 10**40}}, "less than or equal to"),
        ("pairwise", {"choice": "left", "watch_ms": [1, 2]}, "dictionary"),
        ("pairwise", {"choice": "left", "rationale": "x" * 5001}, "no more than 5000"),
        ("likert", {}, "Choose a score from 1 to 5"),
        ("likert", {"score": 9}, "outside this study's scale"),
        ("likert", {"score": 10**30}, "less than or equal to"),
        ("likert", {"score": "four"}, "valid integer"),
        ("likert", {"score": 4, "choice": "left"}, "takes a score, not a choice"),
        ("likert", {"score": 4, "watch_ms": {"left": 10}}, "use query, clip"),
    ],
)
def test_an_answer_that_does_not_fit_is_refused_with_what_to_change(api, kind, answer, words):
    judged = open_study(slug=kind, kinds=kind, methods=METHODS, n_queries=1)
    client = api(judged.coaches[0])
    task = _next(client, judged.study)["task"]
    assert task["kind"] == kind
    response = client.post(f"/api/v1/coach/tasks/{task['token']}/answer/", answer)
    assert response.status_code == 400
    assert words in json.dumps(response.json()["errors"], ensure_ascii=False), response.json()
    assert response.json()["detail"]
    assert not Judgement.objects.exists()
    assert Assignment.objects.get(token=task["token"]).status == "reserved"


def test_malformed_json_and_wrong_shapes_get_400(api, judged):
    client = api(judged.coaches[0])
    task = _next(client, judged.study)["task"]
    url = f"/api/v1/coach/tasks/{task['token']}/answer/"
    for body in ('{"choice": ', "[]", '"left"', "null", '{"score": NaN}'):
        response = client.generic("POST", url, body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()["detail"]
    assert not Judgement.objects.exists()


def test_a_full_watch_study_wants_every_video_played_to_its_end(api, judged):
    Study.objects.filter(pk=judged.study.pk).update(require_full_watch=True)
    client = api(judged.coaches[0])
    task = _next(client, judged.study)["task"]
    assert task["require_full_watch"] is True
    url = f"/api/v1/coach/tasks/{task['token']}/answer/"
    short = client.post(url, {**_answer_for(task), "watch_ms": {"query": 100}})
    assert short.status_code == 400
    assert "Still to watch: the athlete's execution" in short.json()["detail"]
    watched = {player["side"]: player["duration_ms"] for player in task["players"]}
    assert client.post(url, {**_answer_for(task), "watch_ms": watched}).status_code == 201
    # A flag needs no watching: the video may not play at all.
    flagged = _next(client, judged.study)["task"]
    response = client.post(f"/api/v1/coach/tasks/{flagged['token']}/answer/", {"flag": "no_playback"})
    assert response.status_code == 201
    assert response.json()["judgement"]["flag"] == "no_playback"


def test_a_closed_study_takes_no_more_answers_and_says_so(api, judged):
    client = api(judged.coaches[0])
    task = _next(client, judged.study)["task"]
    Study.objects.filter(pk=judged.study.pk).update(status=Study.Status.CLOSED)
    refused = client.post(f"/api/v1/coach/tasks/{task['token']}/answer/", _answer_for(task))
    assert refused.status_code == 409
    assert "closed" in refused.json()["detail"]
    done = _next(client, judged.study)
    assert done["task"] is None
    assert done["done"]["title"] == "This study has closed"
    assert done["done"]["can_retry"] is False


def test_a_coach_at_their_quota_is_told_so(api, judged):
    Study.objects.filter(pk=judged.study.pk).update(quota_per_coach=1)
    client = api(judged.coaches[0])
    task = _next(client, judged.study)["task"]
    assert task["progress"] == {"done": 0, "total": 1, "is_quota": True, "percent": 0, "text": "0 of 1 for you"}
    client.post(f"/api/v1/coach/tasks/{task['token']}/answer/", _answer_for(task))
    done = _next(client, judged.study)
    assert done["task"] is None
    assert done["done"]["title"] == "You have reached your quota"


def test_history_shows_only_the_coachs_own_answers_newest_first_and_revises_recent_ones(api, judged):
    coach, other = judged.coaches[:2]
    client = api(coach)
    tokens = []
    for _ in range(3):
        task = _next(client, judged.study)["task"]
        client.post(f"/api/v1/coach/tasks/{task['token']}/answer/", _answer_for(task))
        tokens.append((task["token"], task["kind"]))
    theirs = _next(api(other), judged.study)["task"]
    api(other).post(f"/api/v1/coach/tasks/{theirs['token']}/answer/", _answer_for(theirs))

    seen, url = [], "/api/v1/coach/judgements/?page_size=2"
    while url:
        page = _blind(client.get(url))
        seen += page["results"]
        url = page["next"]
    assert [row["token"] for row in seen] == [token for token, _ in reversed(tokens)]
    assert all(row["revisable"] for row in seen)
    assert theirs["token"] not in {row["token"] for row in seen}

    token, kind = tokens[0]
    change = {"choice": "neither"} if kind == "pairwise" else {"score": 1}
    revised = client.patch(f"/api/v1/coach/judgements/{token}/", {**change, "rationale": "On reflection"})
    assert revised.status_code == 200, revised.json()
    assert _blind(revised)["revision"] == 1
    assert revised.json()["rationale"] == "On reflection"
    wrong = {"score": 3} if kind == "pairwise" else {"score": 99}
    assert client.patch(f"/api/v1/coach/judgements/{token}/", wrong).status_code == 400
    assert api(other).patch(f"/api/v1/coach/judgements/{token}/", change).status_code == 404
    Study.objects.filter(pk=judged.study.pk).update(status=Study.Status.CLOSED)
    final = client.patch(f"/api/v1/coach/judgements/{token}/", change)
    assert final.status_code == 409
    assert "this one is final" in final.json()["detail"]
    assert api(None).get("/api/v1/coach/judgements/").status_code == 401


def test_no_answer_to_a_coach_names_a_method_through_a_whole_study(api, judged):
    """One coach judges every item they are offered; every response is scanned."""
    client = api(judged.coaches[0])
    answered = 0
    while (task := _next(client, judged.study)["task"]) is not None:
        _blind(client.get(f"/api/v1/coach/tasks/{task['token']}/"))
        _blind(client.post(f"/api/v1/coach/tasks/{task['token']}/answer/", _answer_for(task)))
        answered += 1
    assert answered == judged.study.items.count()
    _blind(client.get("/api/v1/coach/studies/"))
    _blind(client.get("/api/v1/coach/judgements/?page_size=1000"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_answer_sent_twice_at_once_records_one_judgement(api):
    """A phone retrying on a flaky network: two identical submits race, one judgement results."""
    import threading

    from django.db import connection

    judged = open_study(slug="race", methods=METHODS, n_queries=1)
    coach = judged.coaches[0]
    task = _next(api(coach), judged.study)["task"]
    start = threading.Barrier(4)
    answers: list = []

    def send() -> None:
        try:
            start.wait()
            response = api(coach).post(f"/api/v1/coach/tasks/{task['token']}/answer/", _answer_for(task))
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(status for status, _ in answers) == [200, 200, 200, 201]
    assert len({json.dumps(body["judgement"], sort_keys=True) for _, body in answers}) == 1
    assert Judgement.objects.filter(coach=coach).count() == 1
    assert judged.study.items.get(assignments__token=task["token"]).judgements_done == 1


def test_a_mobile_client_plays_the_task_videos_with_its_token(api, make_video):
    """The player URLs answer the token that holds the task, as they answer the page's session."""
    from tests.annotations.rating_setup import add_items, live_study, playable_gallery

    gallery = playable_gallery(make_video, clip_seconds=1.0, n_clips=4, width=160, height=96)
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise"])
    coach, other = make_coach("phone-coach", sports=[gallery.sport]), make_coach("ben", sports=[gallery.sport])
    task = _next(api(coach), study)["task"]
    for player in task["players"]:
        response = api(coach).get(player["url"])
        assert response.status_code == 200, player["side"]
        assert response["Content-Type"] == "video/mp4"
        assert b"ftyp" in b"".join(response.streaming_content)[:64]
        for stranger in (api(other), api(None)):
            assert stranger.get(player["url"]).status_code == 404
        bad_token = api(None)
        bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        assert bad_token.get(player["url"]).status_code == 404
