"""Studies through the API: design while draft, lifecycle actions, progress, items; each for its own people."""

from __future__ import annotations

import base64

import pytest

from studies.models import Item, Study
from studies.tasks import build_study_items
from tests.annotations.rating_setup import fast_password_hashing  # noqa: F401 - autouse
from tests.api.study_people import DENIED, people
from tests.factories import StudyFactory

pytestmark = pytest.mark.django_db

DESIGN = {
    "title": "Serve study",
    "slug": "serve-api",
    "kinds": "both",
    "methods": ["alpha", "beta"],
    "raters_per_item": 3,
    "depth_k": 5,
    "seed": 11,
    "scale_labels": {"1": "Not helpful", "5": "Very helpful"},
}


@pytest.fixture
def who(gallery, coaches):
    return people()


@pytest.fixture
def draft(who):
    return StudyFactory(
        title="Lab study", slug="lab", group=who["lab"], depth_k=5, raters_per_item=3, methods=_methods()
    )


def _methods():
    from retrieval_backend.models import RetrievalMethod

    return RetrievalMethod.objects.filter(name__in=["alpha", "beta"])


def _built(study: Study) -> Study:
    """Build the items the way the worker does, and come back ready."""
    Study.objects.filter(pk=study.pk).update(status=Study.Status.GENERATING)
    assert build_study_items(study.pk).startswith(f"{Item.objects.filter(study=study).count()} items")
    study.refresh_from_db()
    assert study.status == Study.Status.READY
    return study


@pytest.mark.parametrize("role", sorted(DENIED))
def test_only_researchers_of_the_studys_group_with_permissions_reach_it(api, who, draft, role):
    client = api(who[role])
    urls = [
        f"/api/v1/studies/{draft.pk}/",
        f"/api/v1/studies/{draft.pk}/progress/",
        f"/api/v1/studies/{draft.pk}/items/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == DENIED[role], url
        assert response.json()["detail"]
    assert client.patch(f"/api/v1/studies/{draft.pk}/", {"title": "x"}).status_code == DENIED[role]
    assert client.post(f"/api/v1/studies/{draft.pk}/build/").status_code == DENIED[role]
    assert client.delete(f"/api/v1/studies/{draft.pk}/").status_code == DENIED[role]
    listed = client.get("/api/v1/studies/")
    if role == "other_group":
        assert listed.status_code == 200
        assert draft.slug not in [row["slug"] for row in listed.json()["results"]]
    else:
        assert listed.status_code == DENIED[role]
    assert Study.objects.get(pk=draft.pk).title == "Lab study"


def test_a_researcher_creates_reads_edits_and_deletes_a_draft(api, who, draft):
    client = api(who["researcher"])
    created = client.post("/api/v1/studies/", {**DESIGN, "group": "lab", "eligible_sports": ["tennis"]})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft"
    assert body["methods"] == ["alpha", "beta"]
    assert body["created_by"] == "lab-researcher"
    assert body["eligible_sports"] == ["tennis"]
    study_id = body["id"]

    changed = client.patch(f"/api/v1/studies/{study_id}/", {"title": "Serve study, v2", "kinds": "likert"})
    assert changed.status_code == 200
    assert changed.json()["title"] == "Serve study, v2"
    assert client.get(f"/api/v1/studies/{study_id}/").json()["kinds"] == "likert"
    assert [row["id"] for row in client.get("/api/v1/studies/").json()["results"]] == [draft.pk, study_id]
    assert client.get("/api/v1/studies/?status=live").json()["results"] == []

    assert client.delete(f"/api/v1/studies/{study_id}/").status_code == 204
    assert client.get(f"/api/v1/studies/{study_id}/").status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"scale_min": 5, "scale_max": 5}, "scale_max", "at least two points"),
        ({"scale_labels": {"0": "no", "5": "yes"}}, "scale_labels", "outside the scale 1..5: 0"),
        ({"scale_labels": ["not", "an", "object"]}, "scale_labels", "as an object"),
        ({"scale_labels": {"1": "ok\u0000"}}, "scale_labels", "no NUL"),
        ({"methods": ["alpha"]}, "methods", "at least two methods"),
        ({"methods": ["gamma"]}, "methods", "gamma"),
        ({"methods": "alpha"}, "methods", "list"),
        ({"depth_k": 101}, "depth_k", "less than or equal to 100"),
        ({"raters_per_item": 10**30}, "raters_per_item", "less than or equal to"),
        ({"seed": -1}, "seed", "greater than or equal to 0"),
        ({"gold_rate": 0.9}, "gold_rate", "0.5"),
        ({"gold_rate": "a lot"}, "gold_rate", "valid number"),
        ({"slug": "sérve study"}, "slug", "letters, numbers"),
        ({"slug": "lab"}, "slug", "already exists"),
        ({"queries": [10**20]}, "queries", "does not exist"),
        ({"queries": ["one"]}, "queries", "Incorrect type"),
        ({"eligible_coaches": ["nobody-here"]}, "eligible_coaches", "does not exist"),
        ({"group": "elsewhere"}, "group", "not a member"),
        ({"kinds": "triple"}, "kinds", "not a valid choice"),
        ({"title": "x" * 201}, "title", "no more than 200"),
    ],
)
def test_an_invalid_design_is_refused_with_what_to_fix(api, who, draft, change, field, words):
    response = api(who["researcher"]).post("/api/v1/studies/", {**DESIGN, **change})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert words in " ".join(body["errors"][field]), body
    assert body["detail"].startswith(field)


def test_malformed_or_odd_bodies_get_400_or_a_study_never_a_500(api, who, draft):
    client = api(who["researcher"])
    broken = client.generic("POST", "/api/v1/studies/", '{"title": ', content_type="application/json")
    assert broken.status_code == 400
    assert "JSON parse error" in broken.json()["detail"]
    assert client.generic("POST", "/api/v1/studies/", "[1, 2]", content_type="application/json").status_code == 400
    assert client.post("/api/v1/studies/", {**DESIGN, "title": "Élan 🎾 — 発球"}).status_code == 201
    assert client.patch(f"/api/v1/studies/{draft.pk}/", {"title": None}).status_code == 400
    assert client.get("/api/v1/studies/99999999999999999999/").status_code == 404
    assert client.get("/api/v1/studies/?status=nonsense").status_code == 400
    # JSON can spell a lone surrogate, which is no character: it could be neither stored nor sent back.
    lone = client.generic("POST", "/api/v1/studies/", b'{"title": "\\ud800"}', content_type="application/json")
    assert lone.status_code == 400
    assert "unpaired UTF-16 surrogate" in lone.json()["detail"]
    deep = client.generic("POST", "/api/v1/studies/", "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert deep.status_code == 400
    assert "nested too deeply" in deep.json()["detail"]
    # A cursor crafted to hold something other than an id is refused like any unreadable cursor.
    crafted = base64.b64encode(b"p=abc").decode()
    assert client.get(f"/api/v1/studies/?cursor={crafted}").status_code == 400


def test_a_study_past_draft_can_be_neither_edited_nor_deleted(api, who, draft):
    _built(draft)
    client = api(who["researcher"])
    for response in (
        client.patch(f"/api/v1/studies/{draft.pk}/", {"title": "Renamed"}),
        client.put(f"/api/v1/studies/{draft.pk}/", {**DESIGN, "slug": "lab"}),
        client.delete(f"/api/v1/studies/{draft.pk}/"),
    ):
        assert response.status_code == 409
        assert "only a draft can be" in response.json()["detail"]
        assert "ready to publish" in response.json()["detail"]
    assert Study.objects.get(pk=draft.pk).title == "Lab study"


def test_lifecycle_actions_refuse_with_every_problem_and_move_the_study_when_possible(
    api, who, draft, django_capture_on_commit_callbacks
):
    client = api(who["researcher"])
    draft.raters_per_item = 9
    draft.save()
    refused = client.post(f"/api/v1/studies/{draft.pk}/build/")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "The design is not complete:"
    assert any("Each item needs 9 raters" in p for p in refused.json()["problems"])
    assert client.post(f"/api/v1/studies/{draft.pk}/publish/").json()["problems"] == []
    assert "must be paused or ready" in client.post(f"/api/v1/studies/{draft.pk}/publish/").json()["detail"]

    Study.objects.filter(pk=draft.pk).update(raters_per_item=3)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = client.post(f"/api/v1/studies/{draft.pk}/build/")
    assert started.status_code == 200
    assert started.json()["status"] == "generating"
    assert len(queued) == 1  # the build goes to a worker once the request commits
    build_study_items(draft.pk)
    assert client.get(f"/api/v1/studies/{draft.pk}/").json()["status"] == "ready"
    for action, state in (("publish", "live"), ("pause", "paused"), ("publish", "live"), ("close", "closed")):
        response = client.post(f"/api/v1/studies/{draft.pk}/{action}/")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == state
    assert client.post(f"/api/v1/studies/{draft.pk}/pause/").status_code == 409


def test_lifecycle_actions_need_the_change_permission(api, who, draft):
    from django.contrib.auth.models import Permission

    viewer = who["staff_without_perms"]
    viewer.user_permissions.set(Permission.objects.filter(codename="view_study"))
    client = api(viewer)
    assert client.get(f"/api/v1/studies/{draft.pk}/").status_code == 200
    refused = client.post(f"/api/v1/studies/{draft.pk}/build/")
    assert refused.status_code == 403
    assert "permission to change studies" in refused.json()["detail"]


def test_progress_and_items_of_a_built_study(api, who, draft):
    _built(draft)
    client = api(who["researcher"])
    progress = client.get(f"/api/v1/studies/{draft.pk}/progress/").json()
    n_items = Item.objects.filter(study=draft).count()
    assert progress["status"] == "ready"
    assert progress["overall"] == {"label": "all items", "done": 0, "required": 3 * n_items, "percent": 0}
    assert {bar["label"] for bar in progress["by_kind"]} == {"likert", "pairwise"}
    assert [bar["label"] for bar in progress["by_pair"]] == ["alpha vs beta"]

    seen, url = [], f"/api/v1/studies/{draft.pk}/items/?page_size=7"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 7
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == sorted(Item.objects.filter(study=draft).values_list("id", flat=True))
    first = client.get(f"/api/v1/studies/{draft.pk}/items/?kind=pairwise&page_size=1").json()["results"][0]
    assert first["kind"] == "pairwise"
    assert {credit["method"] for credit in first["credits_a"] + first["credits_b"]} <= set(
        _methods().values_list("id", flat=True)
    )
    assert client.get(f"/api/v1/studies/{draft.pk}/items/?page_size=0").status_code == 400
    assert client.get(f"/api/v1/studies/{draft.pk}/items/?cursor=garbage").status_code == 400


@pytest.mark.worker
@pytest.mark.redis
def test_a_researcher_and_coaches_run_a_whole_study_through_the_api(api, celery_worker_factory):
    """Create, build on a real worker, publish, coaches judge, progress, close, export and download."""
    from tests.api.conftest import make_researcher
    from tests.conftest import wait_for
    from tests.studies.conftest import make_coach, make_gallery

    sport, _, _, _ = make_gallery(n_queries=1, methods=("zebra-retriever", "yak-retriever"))
    coaches = [make_coach(f"walk-coach{i}", sports=[sport]) for i in range(3)]
    researcher = api(make_researcher("walk-researcher"))
    celery_worker_factory()

    design = {**DESIGN, "methods": ["zebra-retriever", "yak-retriever"], "raters_per_item": 2}
    study = researcher.post("/api/v1/studies/", design).json()
    url = f"/api/v1/studies/{study['id']}/"
    assert researcher.post(url + "build/").json()["status"] == "generating"

    def built() -> bool:
        state = researcher.get(url).json()
        assert state["status"] in {"generating", "ready"}, state["status_message"]
        return state["status"] == "ready"

    wait_for(built, timeout_s=120, what="the worker to build the items")
    assert researcher.post(url + "publish/").json()["status"] == "live"

    answered = 0
    for coach in coaches:
        client = api(coach)
        assert [card["slug"] for card in client.get("/api/v1/coach/studies/").json()] == [design["slug"]]
        while True:
            response = client.post(f"/api/v1/coach/studies/{design['slug']}/next/")
            assert "retriever" not in response.content.decode()
            task = response.json()["task"]
            if task is None:
                assert response.json()["done"]["title"] == "Nothing left for you right now"
                break
            answer = {"choice": "right"} if task["kind"] == "pairwise" else {"score": 3}
            submitted = client.post(f"/api/v1/coach/tasks/{task['token']}/answer/", answer)
            assert submitted.status_code == 201
            assert "retriever" not in submitted.content.decode()
            answered += 1

    progress = researcher.get(url + "progress/").json()
    assert progress["overall"]["done"] == progress["overall"]["required"] == answered
    assert set(progress["by_pair"][0]["label"].split(" vs ")) == {"yak-retriever", "zebra-retriever"}
    assert researcher.post(url + "close/").json()["status"] == "closed"
    judgements = researcher.get(url + "judgements/?page_size=1000").json()["results"]
    assert len(judgements) == answered

    export = researcher.post(url + "exports/", {}).json()

    def exported() -> dict | None:
        state = researcher.get(f"{url}exports/{export['id']}/").json()
        assert state["status"] in {"queued", "running", "done"}, state["error"]
        return state if state["status"] == "done" else None

    done = wait_for(exported, timeout_s=180, what="the worker to write the export")
    download = researcher.get(done["download_url"])
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert len(content) == done["size_bytes"]
    assert done["judgements"] == answered
