"""Researchers design, build, publish and watch studies in the admin, and invite coaches."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from studies.lifecycle import LifecycleError, close, design_problems, publish, start_build
from studies.models import Study
from studies.tasks import build_study_items
from tests.factories import StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher(client):
    user = UserFactory(username="researcher", email="r@example.org", superuser=True)
    client.force_login(user)
    return user


def test_the_design_check_lists_everything_missing(db, gallery):
    _, _, _, (alpha, _) = gallery
    study = StudyFactory(title="t", slug="t", kinds="both", raters_per_item=3, methods=[alpha])
    problems = design_problems(study)
    assert any("at least two methods" in p for p in problems)
    assert any("only 0 coach(es) are eligible" in p for p in problems)


def test_missing_candidates_are_named_with_the_command_to_run(study, gallery):
    _, _, queries, (_, beta) = gallery
    beta.candidate_sets.filter(query=queries[0]).delete()
    problems = design_problems(study)
    assert problems == [
        f"Method beta has no candidates for 1 of {len(queries)} queries (e.g. {queries[0].external_id}): "
        "run generate_candidates --methods beta."
    ]


def test_candidate_sets_shallower_than_the_depth_are_named(study, gallery):
    _, _, queries, (alpha, _) = gallery
    alpha.candidate_sets.filter(query__in=queries[:2]).update(k=3)
    assert design_problems(study) == [
        f"Method alpha has candidate sets shallower than the study's depth 5 for 2 of {len(queries)} queries: "
        "run generate_candidates --methods alpha --k 5, or lower the depth."
    ]


def test_gold_checks_that_cannot_make_a_sound_item_are_named(study, gallery):
    _, clips, queries, _ = gallery
    query = queries[0]
    study.gold_rate = 0.1
    study.save()
    assert design_problems(study) == [
        "The gold rate is 10% but the study has no gold checks: add some, or set the rate to 0."
    ]
    gold = study.gold_checks
    gold.create(kind="pairwise", query=query, helpful_clip=clips[0])
    gold.create(kind="pairwise", query=query, helpful_clip=clips[0], unrelated_clip=clips[0])
    gold.create(kind="likert", query=query, helpful_clip=clips[0], min_score=4)
    gold.create(kind="likert", query=query, helpful_clip=clips[0], min_score=4, max_score=9)
    gold.create(kind="likert", query=query, helpful_clip=clips[0], min_score=4, max_score=5)  # sound
    name = f"(query {query.external_id})"
    assert design_problems(study) == [
        f"Gold check 1 {name} is pairwise but has no unrelated clip to set against the helpful one.",
        f"Gold check 2 {name} sets the helpful clip against itself: choose a different unrelated clip.",
        f"Gold check 3 {name} needs the range of acceptable scores: set both its minimum and maximum.",
        f"Gold check 4 {name} accepts scores 4 to 9, which is not a range within the study's scale 1 to 5.",
    ]
    study.kinds = "likert"
    study.save()
    assert f"Gold check 1 {name} is pairwise but the study asks for Likert ratings only: make it Likert." in (
        design_problems(study)
    )
    with pytest.raises(LifecycleError, match="Gold check 2"):
        start_build(study)


def test_a_complete_design_builds_goes_live_and_closes(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        start_build(study)
    assert study.status == "generating"
    assert len(callbacks) == 1
    build_study_items(study.pk)
    study.refresh_from_db()
    assert study.status == "ready"
    assert "pairwise" in study.status_message
    publish(study)
    assert study.status == "live"
    assert study.published is not None
    with pytest.raises(LifecycleError, match="must be"):
        start_build(study)
    close(study)
    assert study.status == "closed"
    with pytest.raises(LifecycleError):
        publish(study)


def test_the_admin_form_refuses_a_scale_with_one_point_and_pairwise_with_one_method(client, researcher, gallery):
    _, _, _, (alpha, _) = gallery
    response = client.post(
        reverse("admin:studies_study_add"),
        {
            "title": "Bad",
            "slug": "bad",
            "kinds": "both",
            "pairwise_question": "q",
            "likert_question": "q",
            "scale_min": 3,
            "scale_max": 3,
            "scale_labels": '{"9": "x"}',
            "methods": [alpha.pk],
            "depth_k": 5,
            "raters_per_item": 3,
            "min_years_coaching": 0,
            "gold_rate": 0,
            "seed": 0,
            "reservation_minutes": 20,
            "break_every": 40,
            "gold_checks-TOTAL_FORMS": 0,
            "gold_checks-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "make the maximum larger than the minimum" in text
    assert "Pairwise comparisons need at least two methods" in text
    assert not Study.objects.filter(slug="bad").exists()


def test_the_admin_refuses_gold_checks_that_cannot_make_a_sound_item(client, researcher, gallery):
    _, clips, queries, (alpha, beta) = gallery
    form = {
        "title": "Gold",
        "slug": "gold",
        "kinds": "both",
        "pairwise_question": "q",
        "likert_question": "q",
        "scale_min": 1,
        "scale_max": 5,
        "scale_labels": "{}",
        "methods": [alpha.pk, beta.pk],
        "depth_k": 5,
        "raters_per_item": 3,
        "min_years_coaching": 0,
        "gold_rate": 0.1,
        "seed": 0,
        "reservation_minutes": 20,
        "break_every": 40,
        "gold_checks-TOTAL_FORMS": 2,
        "gold_checks-INITIAL_FORMS": 0,
        "gold_checks-0-kind": "pairwise",
        "gold_checks-0-query": queries[0].pk,
        "gold_checks-0-helpful_clip": clips[0].pk,
        "gold_checks-1-kind": "likert",
        "gold_checks-1-query": queries[0].pk,
        "gold_checks-1-helpful_clip": clips[0].pk,
        "gold_checks-1-min_score": 4,
        "gold_checks-1-max_score": 7,
    }
    response = client.post(reverse("admin:studies_study_add"), form)
    assert response.status_code == 200
    text = response.content.decode()
    # Issue 14: the errors say what to do.
    assert "Choose a clip that does not help with this mistake as the unrelated clip" in text
    assert "Keep both acceptable scores within the study&#x27;s scale, 1 to 5." in text
    assert not Study.objects.filter(slug="gold").exists()
    form.update({"gold_checks-0-unrelated_clip": clips[1].pk, "gold_checks-1-max_score": 5})
    response = client.post(reverse("admin:studies_study_add"), form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Study.objects.get(slug="gold").gold_checks.count() == 2


def test_the_build_action_reports_what_is_missing(client, researcher, gallery):
    study = StudyFactory(title="Empty", slug="empty")
    response = client.post(
        reverse("admin:studies_study_changelist"),
        {"action": "build_items", "_selected_action": [study.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "The design is not complete" in text
    assert "Choose at least one retrieval method" in text
    study.refresh_from_db()
    assert study.status == "draft"


def test_a_live_study_is_frozen_and_can_be_duplicated(client, researcher, study):
    Study.objects.filter(pk=study.pk).update(status="live")
    page = client.get(reverse("admin:studies_study_change", args=[study.pk])).content.decode()
    assert 'name="title"' not in page
    client.post(
        reverse("admin:studies_study_changelist"),
        {"action": "duplicate", "_selected_action": [study.pk]},
        follow=True,
    )
    copy = Study.objects.get(slug="serve-copy")
    assert copy.status == "draft"
    assert set(copy.methods.all()) == set(study.methods.all())


def test_the_progress_page_shows_bars_per_pair_and_coach(client, researcher, study):
    build_items_for = Study.objects.filter(pk=study.pk)
    build_items_for.update(status="generating")
    build_study_items(study.pk)
    response = client.get(reverse("admin:studies_study_progress", args=[study.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "alpha vs beta" in text
    assert "0 of" in text


def test_without_a_quota_each_coach_is_measured_against_an_even_share(client, researcher, study, coaches):
    from studies.assignment import next_assignment_for
    from studies.lifecycle import publish
    from studies.progress import study_progress

    Study.objects.filter(pk=study.pk).update(status="generating")
    build_study_items(study.pk)
    study.refresh_from_db()
    publish(study)
    from annotations.coach.judging import Answer, submit

    for _ in range(3):
        assignment = next_assignment_for(coaches[0], study)
        item = assignment.item
        submit(coaches[0], assignment.token, Answer(choice="left") if item.kind == "pairwise" else Answer(score=3))
    progress = study_progress(study)
    share = -(-progress.overall.required // len(coaches))  # ceil: 4 eligible coaches
    assert progress.coach_target == f"an even share of the judgements among the 4 eligible coaches ({share} each)"
    (bar,) = progress.by_coach
    assert (bar.label, bar.done, bar.required) == (coaches[0].username, 3, share)
    page = client.get(reverse("admin:studies_study_progress", args=[study.pk])).content.decode()
    assert f"3 / {share}" in page
    Study.objects.filter(pk=study.pk).update(quota_per_coach=10)
    study.refresh_from_db()
    assert study_progress(study).coach_target == "each coach's quota of 10 items"


def test_invited_coaches_get_a_link_that_sets_their_password_once(client, researcher, gallery):
    sport = gallery[0]
    response = client.post(
        reverse("admin:studies_coach_invite"),
        {"emails": "ana@example.org, Ana Silva\nnot-an-email", "sports": [sport.pk], "years_coaching": 8},
    )
    assert "is not an email address" in response.content.decode()
    client.post(
        reverse("admin:studies_coach_invite"),
        {"emails": "ana@example.org, Ana Silva", "sports": [sport.pk], "years_coaching": 8},
    )
    coach = get_user_model().objects.get(email="ana@example.org")
    assert not coach.has_usable_password()
    assert coach.coach_profile.years_coaching == 8
    assert list(coach.coach_profile.sports.all()) == [sport]
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    client.logout()
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "a-Strong-pass-42", "new_password2": "a-Strong-pass-42"})
    assert done.status_code == 302
    coach.refresh_from_db()
    assert coach.check_password("a-Strong-pass-42")
    again = client.get(link, follow=True).content.decode()
    # The used link no longer offers the password form, only a way to ask for a new link.
    assert 'name="new_password1"' not in again
    assert "/accounts/password_reset/" in again
