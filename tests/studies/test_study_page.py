"""The researcher's study page (issue 14): lifecycle buttons, readiness linked to its fixes, depth, gold checks."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from core.models import Job
from studies.lifecycle import LifecycleError, publish
from studies.models import Study
from studies.readiness import design_problems
from studies.tasks import build_study_items
from tests.factories import ResearcherFactory, UserFactory
from tests.studies.conftest import make_gallery

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher(client):
    user = ResearcherFactory(username="rita")
    client.force_login(user)
    return user


def _change_page(client, study: Study) -> str:
    response = client.get(reverse("admin:studies_study_change", args=[study.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _buttons(page: str) -> list[str]:
    return re.findall(r'<button type="submit" name="lifecycle" value="(\w+)"', page)


def _press(client, study: Study, action: str):
    return client.post(reverse("admin:studies_study_lifecycle", args=[study.pk, action]), follow=True)


def test_the_study_page_offers_the_buttons_its_state_allows_and_they_move_it(
    client, researcher, study, django_capture_on_commit_callbacks
):
    assert _buttons(_change_page(client, study)) == ["build", "duplicate"]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        _press(client, study, "build")
    assert len(queued) == 1  # the same build as the list's action: on a worker, once the request commits
    study.refresh_from_db()
    assert study.status == "generating"
    build_study_items(study.pk)
    page = _change_page(client, study)
    assert "ready to publish" in page
    assert _buttons(page) == ["build", "publish", "close", "duplicate"]
    assert 'value="publish" class="button default"' in page
    _press(client, study, "publish")
    study.refresh_from_db()
    assert study.status == "live"
    assert _buttons(_change_page(client, study)) == ["pause", "close", "duplicate"]
    _press(client, study, "pause")
    study.refresh_from_db()
    assert study.status == "paused"
    _press(client, study, "close")
    study.refresh_from_db()
    assert study.status == "closed"
    response = _press(client, study, "duplicate")
    copy = Study.objects.get(slug="serve-copy")
    assert response.redirect_chain[-1][0] == reverse("admin:studies_study_change", args=[copy.pk])
    assert copy.status == "draft"


def test_publishing_a_draft_says_to_build_the_items_first(client, researcher, study):
    page = _press(client, study, "publish").content.decode()
    assert "build the items first" in page
    study.refresh_from_db()
    assert study.status == "draft"
    with pytest.raises(LifecycleError, match="build the items first"):
        publish(study)


def test_the_buttons_need_the_change_permission_a_post_and_a_study_the_user_manages(client, study):
    viewer = ResearcherFactory(username="viewer", perms=False)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_study"))
    client.force_login(viewer)
    assert _buttons(_change_page(client, study)) == []
    assert _press(client, study, "build").status_code == 403
    client.force_login(ResearcherFactory(username="rita"))
    assert client.get(reverse("admin:studies_study_lifecycle", args=[study.pk, "build"])).status_code == 405
    assert _press(client, study, "explode").status_code == 403
    Study.objects.filter(pk=study.pk).update(group=Group.objects.create(name="lab B"))
    assert _press(client, study, "build").status_code == 404
    study.refresh_from_db()
    assert study.status == "draft"


def test_missing_candidates_link_to_generating_them_for_those_queries_at_the_studys_depth(
    client, researcher, study, gallery, django_capture_on_commit_callbacks
):
    _, _, queries, (_, beta) = gallery
    beta.candidate_sets.filter(query__in=queries[:2]).delete()
    page = _change_page(client, study)
    link = reverse("admin:studies_study_generate_candidates", args=[study.pk, beta.pk])
    assert f'<a href="{link}">Generate them in the admin (k=5)</a>' in page
    form = client.get(link).content.decode()
    assert 'name="k" value="5"' in form
    assert "the 2 mistake queries of" in form
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(link, {"apply": "1", "k": "5"})
    job = Job.objects.get(kind="generate_candidates")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_job_change", args=[job.pk])
    assert job.params["methods"] == ["beta"]
    assert job.params["k"] == 5
    chunk_queries = {pk for chunk in job.chunks.all() for pk in chunk.payload["query_ids"]}
    assert chunk_queries == {queries[0].pk, queries[1].pk}


def test_while_a_generation_job_runs_the_problem_says_how_far_it_is(client, researcher, study, gallery):
    _, _, queries, (alpha, beta) = gallery
    beta.candidate_sets.filter(query=queries[0]).delete()
    alpha.candidate_sets.filter(query__in=queries[1:3]).update(k=3)
    job = Job.objects.create(
        kind="generate_candidates", status="running", done=3, total=10, params={"methods": ["alpha", "beta"], "k": 5}
    )
    problems = design_problems(study)
    assert problems == [
        f"Method beta has no candidates for 1 of {len(queries)} queries (e.g. {queries[0].external_id}): "
        f"job {job.pk} running, 30% done.",
        f"Method alpha has candidate sets shallower than the study's depth 5 for 2 of {len(queries)} queries: "
        f"job {job.pk} running, 30% done.",
    ]
    assert not any("generate_candidates" in problem for problem in problems)
    page = _change_page(client, study)
    assert f'<a href="{reverse("admin:core_job_change", args=[job.pk])}">Follow job {job.pk}</a>' in page
    # A job too shallow for the study, or finished, does not count.
    Job.objects.filter(pk=job.pk).update(status="done")
    assert "run generate_candidates --methods beta" in design_problems(study)[0]


def _add_form(**fields) -> dict:
    form = {
        "title": "Deep",
        "slug": "deep",
        "kinds": "likert",
        "pairwise_question": "q",
        "likert_question": "q",
        "scale_min": 1,
        "scale_max": 5,
        "scale_labels": "{}",
        "depth_k": 5,  # the form's default, left as it is
        "raters_per_item": 1,
        "min_years_coaching": 0,
        "gold_rate": 0,
        "seed": 0,
        "reservation_minutes": 20,
        "break_every": 40,
        "gold_checks-TOTAL_FORMS": 0,
        "gold_checks-INITIAL_FORMS": 0,
    }
    form.update(fields)
    return form


def test_a_new_studys_depth_defaults_to_the_deepest_sets_all_its_methods_have(client, researcher, db):
    _, _, _, (deep, deeper) = make_gallery(methods=("deep", "deeper"), k=8)
    deeper.candidate_sets.update(k=12)  # only "deep" limits the depth
    response = client.post(reverse("admin:studies_study_add"), _add_form(methods=[deep.pk, deeper.pk]), follow=True)
    assert "Depth k set to 8" in response.content.decode()
    assert Study.objects.get(slug="deep").depth_k == 8
    # A depth the researcher typed stays.
    client.post(reverse("admin:studies_study_add"), _add_form(slug="typed", depth_k=3, methods=[deep.pk]))
    assert Study.objects.get(slug="typed").depth_k == 3


def test_gold_checks_choose_query_and_clips_by_search_and_show_the_gold_items_the_rate_makes(
    client, researcher, study, gallery
):
    _, clips, queries, _ = gallery
    page = _change_page(client, study)
    for field in ("query", "helpful_clip", "unrelated_clip"):
        assert re.search(rf'<select name="gold_checks-__prefix__-{field}"[^>]*admin-autocomplete', page), field
    assert 'class="vForeignKeyRawIdAdminField"' not in page
    search = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "studies", "model_name": "goldcheck", "field_name": "helpful_clip", "term": "Tip 12"},
    )
    assert [row["text"] for row in json.loads(search.content)["results"]] == [clips[12].external_id]
    search = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "studies", "model_name": "goldcheck", "field_name": "query", "term": "Mistake 2"},
    )
    assert [row["id"] for row in json.loads(search.content)["results"]] == [str(queries[2].pk)]

    assert "About 0 gold items" in page
    Study.objects.filter(pk=study.pk).update(gold_rate=0.1)
    study.gold_checks.create(kind="likert", query=queries[0], helpful_clip=clips[0], min_score=4, max_score=5)
    page = _change_page(client, study)
    match = re.search(r"About (\d+) gold items among about (\d+) regular items", page)
    gold, regular = int(match.group(1)), int(match.group(2))
    assert regular > 0
    assert gold == -(-regular // 9)  # ceil(0.1 * regular / 0.9)


def test_a_coach_cannot_search_clips(client, study):
    client.force_login(UserFactory(username="coach"))
    search = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "studies", "model_name": "goldcheck", "field_name": "helpful_clip", "term": "Tip"},
    )
    assert search.status_code == 302  # to the admin's login
