"""A study's judgements, agreement and leaderboard through the API, for the researchers who manage it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.models import Judgement, StudyReport
from studies.models import Study
from tests.annotations.judged_study import judge_everything, open_study, prefer
from tests.annotations.rating_setup import fast_password_hashing  # noqa: F401 - autouse
from tests.api.study_people import DENIED, people

pytestmark = pytest.mark.django_db
BOOTSTRAP = 20


@pytest.fixture
def who(db):
    return people()


@pytest.fixture
def judged(who):
    judged = open_study(n_queries=1)
    Study.objects.filter(pk=judged.study.pk).update(group=who["lab"])
    judge_everything(judged, prefer(judged, ["beta", "alpha"], tie_every=5))
    return judged


@pytest.fixture
def unjudged(who):
    judged = open_study(slug="fresh", n_queries=1)
    Study.objects.filter(pk=judged.study.pk).update(group=who["lab"])
    return judged


def _all_pages(client, url: str) -> list[dict]:
    rows = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        rows += response.json()["results"]
        url = response.json()["next"]
    return rows


@pytest.mark.parametrize("role", sorted(DENIED))
def test_only_researchers_of_the_group_read_judgements_and_results(api, who, unjudged, role):
    client = api(who[role])
    for part in ("judgements", "agreement", "leaderboard"):
        response = client.get(f"/api/v1/studies/{unjudged.study.pk}/{part}/")
        assert response.status_code == DENIED[role], part
        assert response.json()["detail"]


def test_judgements_page_in_id_order_with_a_cursor(api, who, judged):
    client = api(who["researcher"])
    rows = _all_pages(client, f"/api/v1/studies/{judged.study.pk}/judgements/?page_size=7")
    assert [row["id"] for row in rows] == sorted(
        Judgement.objects.filter(study=judged.study).values_list("id", flat=True)
    )
    first = rows[0]
    assert first["coach"].startswith("serve-coach")
    assert set(first) >= {"item", "kind", "choice", "winner", "score", "flag", "watch_ms", "created", "revision"}
    assert client.get(f"/api/v1/studies/{judged.study.pk}/judgements/?cursor=garbage").status_code == 400


def test_judgements_filter_by_coach_method_sport_kind_and_time(api, who, judged):
    client = api(who["researcher"])
    base = f"/api/v1/studies/{judged.study.pk}/judgements/?page_size=1000"
    study_rows = Judgement.objects.filter(study=judged.study)
    coach = judged.coaches[1]
    by_coach = _all_pages(client, f"{base}&coach={coach.username}")
    assert {row["coach"] for row in by_coach} == {coach.username}
    assert len(by_coach) == study_rows.filter(coach=coach).count()

    likert = _all_pages(client, f"{base}&kind=likert")
    assert len(likert) == study_rows.filter(kind="likert").count()
    # Every item shows a clip of alpha or beta (pairwise items both): each method's filter finds the
    # pairwise judgements, and the Likert judgements of its clips.
    for name in ("alpha", "beta"):
        rows = _all_pages(client, f"{base}&method={name}")
        assert {row["kind"] for row in rows} == {"pairwise", "likert"}
        assert len([row for row in rows if row["kind"] == "pairwise"]) == study_rows.filter(kind="pairwise").count()
    assert len(_all_pages(client, f"{base}&sport=tennis")) == study_rows.count()
    assert _all_pages(client, f"{base}&sport=golf") == []

    middle = study_rows.order_by("id")[study_rows.count() // 2]
    Judgement.objects.filter(pk__gte=middle.pk).update(created=timezone.now() + timedelta(days=1))
    after = (timezone.now() + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
    late = _all_pages(client, f"{base}&created_after={after}")
    early = _all_pages(client, f"{base}&created_before={after}")
    assert [row["id"] for row in late] == list(
        study_rows.filter(pk__gte=middle.pk).order_by("id").values_list("id", flat=True)
    )
    assert len(early) + len(late) == study_rows.count()


def test_invalid_filters_are_a_400_saying_what_to_fix(api, who, unjudged):
    client = api(who["researcher"])
    url = f"/api/v1/studies/{unjudged.study.pk}/judgements/"
    for query, field, words in [
        ("method=gamma", "method", "compares no method “gamma”: use alpha, beta"),
        ("kind=triple", "kind", "not one of the available choices"),
        ("created_after=yesterday", "created_after", "valid date/time"),
        ("created_before=2026-13-45T99:00:00Z", "created_before", "valid date/time"),
        ("coach=%00", "coach", "Null characters are not allowed"),
        ("created_after=0001-01-01T00:00:00%2B14:00", "created_after", "outside years 1 to 9999"),
    ]:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, query
        assert words in " ".join(response.json()["errors"][field]), response.json()
    # An unreadable page size says so; a huge one gives the largest page.
    assert client.get(f"{url}?page_size=lots").json()["errors"]["page_size"] == [
        "must be a whole number from 1 to 1000, not 'lots'."
    ]
    assert client.get(f"{url}?page_size=99999999999999999999").status_code == 200
    assert client.get(f"{url}?coach=名前&sport=🎾").json()["results"] == []


def test_a_page_costs_the_same_queries_whatever_the_study_size(api, who, judged):
    client = api(who["researcher"])
    small = open_study(slug="tiny", kinds="likert", n_queries=1, n_coaches=3, sport_slug="golf")
    judge_everything(small, prefer(small, ["alpha", "beta"], tie_every=3))
    counts = []
    for study, extra in ((small.study, ""), (judged.study, ""), (judged.study, "&coach=serve-coach1&method=beta")):
        Study.objects.filter(pk=study.pk).update(group=who["lab"])
        url = f"/api/v1/studies/{study.pk}/judgements/?page_size=5{extra}"
        client.get(url)  # the token and permissions are cached after the first request
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).json()
        with CaptureQueriesContext(connection) as next_queries:
            client.get(page["next"])
        counts.append((len(queries), len(next_queries)))
    # The same on page 1 and page 2, in a small study and a larger one. The method filter looks the
    # method up (and on SQLite, without jsonb containment, reads the study's credits once more).
    assert counts[0] == counts[1], counts
    assert counts[2][0] == counts[2][1] == counts[0][0] + (1 if connection.vendor == "postgresql" else 2), counts
    assert counts[0][0] <= 6


def test_results_say_when_they_are_being_computed_then_show_the_cached_report(api, who, judged):
    client = api(who["researcher"])
    url = f"/api/v1/studies/{judged.study.pk}/"
    pending = client.get(url + "agreement/")
    assert pending.status_code == 202
    assert pending.json()["state"] == "computing"
    assert "ask again in a minute" in pending.json()["message"]
    assert pending.json()["agreement"] is None
    assert StudyReport.objects.get(study=judged.study).dirty  # queued for a worker

    # What the worker stores (figures left out: drawing them is the report page's concern, and slow).
    from annotations.research.results.service import jsonable, study_results

    data = jsonable(study_results(judged.study, bootstrap=BOOTSTRAP))
    StudyReport.objects.filter(study=judged.study).update(data=data, computed=timezone.now(), dirty=False)
    agreement = client.get(url + "agreement/")
    assert agreement.status_code == 200
    body = agreement.json()
    assert body["state"] == "current"
    assert body["counts"]["judgements"] == Judgement.objects.filter(study=judged.study).count()
    assert body["agreement"]["pairwise"]["overall"]["alpha_nominal"]["name"] == "Krippendorff's alpha (nominal)"
    board = client.get(url + "leaderboard/").json()
    assert [row["method"] for row in board["leaderboard"]["methods"]] == ["beta", "alpha"]
    assert board["pairs"]["rows"]
    assert "methods" in board["likert"]

    StudyReport.objects.filter(study=judged.study).update(dirty=True)
    stale = client.get(url + "leaderboard/")
    assert stale.status_code == 200
    assert stale.json()["state"] == "updating"
    assert stale.json()["leaderboard"] == board["leaderboard"]
