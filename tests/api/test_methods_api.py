"""Retrieval methods through the API: checked as the admin checks them, and never deleted from under a study."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from retrieval_backend.models import CandidateSet, RetrievalMethod
from tests.api.conftest import make_researcher
from tests.factories import RetrievalMethodFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/methods/"


@pytest.fixture
def control(db):
    return RetrievalMethodFactory(name="control", backend="random", params={"seed": 1})


def test_only_researchers_with_the_permissions_see_and_change_methods(api, researcher, coach, other_coach, control):
    staff = make_researcher("staff-no-perms", perms=False)
    new = {"name": "control-2", "backend": "random", "params": {"seed": 2}}
    assert api(None).get(URL).status_code == 401
    assert api(None).post(URL, new).status_code == 401
    for user in (coach, other_coach, staff):
        assert api(user).get(URL).status_code == 403
        assert api(user).post(URL, new).status_code == 403
        assert api(user).delete(f"{URL}control/").status_code == 403
    viewer = make_researcher("viewer", perms=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_retrievalmethod"))
    assert api(viewer).get(f"{URL}control/").status_code == 200
    refused = api(viewer).post(URL, new)
    assert refused.status_code == 403
    assert "lacks the permission" in refused.json()["detail"]
    assert list(RetrievalMethod.objects.values_list("name", flat=True)) == ["control"]


def test_a_researcher_creates_reads_changes_and_deletes_a_method(api, researcher):
    client = api(researcher)
    created = client.post(URL, {"name": "bm25-ish", "backend": "narration-text", "description": "Text only"})
    assert created.status_code == 201, created.json()
    assert created.json()["params"] == {}
    assert created.json()["version"] == "1"
    assert client.get(f"{URL}bm25-ish/").json()["backend"] == "narration-text"
    changed = client.patch(f"{URL}bm25-ish/", {"version": "2"})
    assert changed.status_code == 200
    assert RetrievalMethod.objects.get(name="bm25-ish").version == "2"
    assert [m["name"] for m in client.get(f"{URL}?backend=narration-text").json()["results"]] == ["bm25-ish"]
    assert client.delete(f"{URL}bm25-ish/").status_code == 204
    assert client.get(f"{URL}bm25-ish/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "m", "backend": "no-such-backend"}, "backend", "is not installed here; choose one of random"),
        ({"name": "m", "backend": "random", "params": {"seeed": 1}}, "params", "unknown parameter(s) 'seeed'"),
        ({"name": "m", "backend": "random", "params": {"seed": -1}}, "params", "seed must be a whole number of 0"),
        ({"name": "m", "backend": "random", "params": {"seed": "7"}}, "params", "not '7'"),
        ({"name": "m", "backend": "random", "params": [1, 2]}, "params", "must be a JSON object"),
        ({"name": "m", "backend": "random", "params": {"index": "ivf"}}, "params", 'index must be "flat" or "hnsw"'),
        ({"name": "m", "backend": "imported", "params": {"x": "\u0000"}}, "params", "NUL characters"),
        ({"name": "not a slug!", "backend": "random"}, "name", "letters, numbers, underscores or hyphens"),
        ({"name": "control", "backend": "random"}, "name", "already exists"),
        ({"name": "m" * 101, "backend": "random"}, "name", "no more than 100 characters"),
        ({"name": {"a": 1}, "backend": "random"}, "name", 'valid "slug"'),
        ({"backend": "random"}, "name", "required"),
        ({"name": "m", "backend": "random", "description": "nul \u0000 here"}, "description", "Null characters"),
    ],
)
def test_a_bad_method_gets_a_400_naming_the_field_and_the_fix(api, researcher, control, body, field, message):
    response = api(researcher).post(URL, body)
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert message in " ".join(errors[field]), errors
    assert response.json()["detail"].startswith(field)
    assert RetrievalMethod.objects.count() == 1


def test_an_imported_method_takes_any_params_but_they_must_be_storable(api, researcher):
    client = api(researcher)
    assert client.post(URL, {"name": "cluster-v2", "backend": "imported", "params": {"run": "r7"}}).status_code == 201
    huge = client.generic(
        "POST", URL, '{"name": "cluster-v3", "backend": "imported", "params": {"x": 1e400}}', "application/json"
    )
    assert huge.status_code == 400
    assert "no NaN or Infinity, nor numbers too large" in huge.json()["detail"]
    surrogate = client.generic(
        "POST", URL, '{"name": "cluster-v4", "backend": "imported", "params": {"\\ud800": 1}}', "application/json"
    )
    assert surrogate.status_code == 400
    assert "unpaired UTF-16 surrogate" in surrogate.json()["detail"]


def test_a_change_is_checked_against_the_backend_it_ends_up_with(api, researcher, control):
    client = api(researcher)
    refused = client.patch(f"{URL}control/", {"params": {"seed": "x"}})
    assert refused.status_code == 400
    # The seed was valid for random, not for narration-text: the parameters stay and are checked against the new one.
    switched = client.patch(f"{URL}control/", {"backend": "narration-text"})
    assert switched.status_code == 400
    assert "unknown parameter(s) 'seed'" in switched.json()["detail"]
    assert RetrievalMethod.objects.get().params == {"seed": 1}


def test_malformed_json_and_unknown_names_are_plain_errors(api, researcher, control):
    client = api(researcher)
    broken = client.generic("POST", URL, '{"name": "x", "backend": ', "application/json")
    assert broken.status_code == 400
    assert "JSON parse error" in broken.json()["detail"]
    not_object = client.generic("POST", URL, "[1, 2]", "application/json")
    assert not_object.status_code == 400
    assert client.get(f"{URL}nope/").status_code == 404
    assert client.get(f"{URL}%C3%A9t%C3%A9/").status_code == 404


def test_a_method_compared_in_a_study_cannot_be_deleted(api, researcher, study):
    alpha = RetrievalMethod.objects.get(name="alpha")
    sets = CandidateSet.objects.filter(method=alpha).count()
    response = api(researcher).delete(f"{URL}alpha/")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "compared in the studies serve" in response.json()["detail"]
    assert CandidateSet.objects.filter(method=alpha).count() == sets > 0
    study.methods.remove(alpha)
    assert api(researcher).delete(f"{URL}alpha/").status_code == 204
    assert not CandidateSet.objects.filter(method__name="alpha").exists()


def test_methods_page_with_a_cursor(api, researcher):
    RetrievalMethod.objects.bulk_create(
        RetrievalMethodFactory.build(name=f"m{i:02d}", backend="random") for i in range(12)
    )
    client = api(researcher)
    names, url = [], f"{URL}?page_size=5"
    while url:
        page = client.get(url).json()
        names += [m["name"] for m in page["results"]]
        url = page["next"]
    assert names == [f"m{i:02d}" for i in range(12)]


def test_a_body_over_the_upload_limit_is_a_413_not_a_server_error(api, researcher, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"name": "big", "backend": "imported", "params": {"notes": "y" * 2000}}
    response = api(researcher).post(URL, body)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "larger than 1000 bytes" in response.json()["detail"]
    assert not RetrievalMethod.objects.filter(name="big").exists()
