"""The pages around the task: log in and password reset, the coach's studies, instructions, done."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from studies.assignment import next_assignment_for
from studies.models import Study
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    rows_only_gallery,
)
from tests.factories import ParticipationFactory, ResearcherFactory, UserFactory
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery():
    return rows_only_gallery()


@pytest.fixture
def coach(gallery):
    user = make_coach("ana", sports=[gallery.sport])
    user.email = "ana@example.org"
    user.save()
    return user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_home_lists_the_open_studies_a_coach_may_judge_with_progress(gallery, coach):
    live = live_study(gallery, slug="live", title="Live serve study", quota_per_coach=10)
    add_items(live, gallery, ["likert"] * 3)
    live_study(gallery, slug="paused", title="Paused study", status=Study.Status.PAUSED)
    live_study(gallery, slug="draft", title="Draft study", status=Study.Status.DRAFT)
    live_study(gallery, slug="closed", title="Closed study", status=Study.Status.CLOSED)
    expert_only = live_study(gallery, slug="experts", title="Experts only", min_years_coaching=30)
    expert_only.eligible_sports.set([gallery.sport])
    ParticipationFactory(study=live, coach=coach, done_count=4)

    html = _client(coach).get("/").content.decode()
    assert "Live serve study" in html
    assert "4 of about 7 for you" in html  # 3 items left in the study, fewer than the quota's 6
    assert reverse("coach:continue", args=["live"]) in html
    assert "Paused study" in html
    assert "Paused by the study team" in html
    assert reverse("coach:continue", args=["paused"]) not in html
    for hidden in ("Draft study", "Closed study", "Experts only"):
        assert hidden not in html


def test_researchers_land_in_the_admin():
    staff = UserFactory(username="researcher", password="x", is_staff=True)
    assert _client(staff).get("/")["Location"] == reverse("admin:index")


def test_the_study_page_shows_the_instructions_as_sanitised_markdown(gallery, coach):
    live_study(
        gallery,
        instructions="Rate **technique**.\n\n<script>alert('x')</script>\n\n[guide](javascript:alert(1))",
    )
    html = _client(coach).get(reverse("coach:study", args=["serve"])).content.decode()
    assert "<strong>technique</strong>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert "Start rating" in html


def test_studies_a_coach_may_not_judge_are_404(gallery, coach):
    live_study(gallery, slug="draft", status=Study.Status.DRAFT)
    restricted = live_study(gallery, slug="restricted", min_years_coaching=40)
    restricted.eligible_sports.set([gallery.sport])
    client = _client(coach)
    for slug in ("draft", "restricted", "no-such-study"):
        for name in ("coach:study", "coach:continue", "coach:done"):
            assert client.get(reverse(name, args=[slug])).status_code == 404


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": Study.Status.CLOSED}, "The study team has closed it."),
        ({"status": Study.Status.PAUSED}, "paused it for now. Your progress is kept"),
        ({"quota_per_coach": 1}, "You have judged your 1 items for this study."),
        ({}, "Every remaining item is judged or held by other coaches."),
    ],
)
def test_the_done_page_says_why_there_is_nothing_to_judge(gallery, coach, fields, expected):
    study = live_study(gallery, raters_per_item=1)
    add_items(study, gallery, ["likert"])
    if fields.get("quota_per_coach"):
        ParticipationFactory(study=study, coach=coach, done_count=1)
    else:
        # Another coach holds the only item.
        next_assignment_for(make_coach("ben", sports=[gallery.sport]), study)
    Study.objects.filter(pk=study.pk).update(**fields)
    client = _client(coach)
    response = client.get(reverse("coach:continue", args=[study.slug]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("coach:done", args=[study.slug])
    assert expected in response.content.decode()


def test_the_login_page_logs_a_coach_in_and_reset_links_work(gallery, coach):
    client = Client()
    page = client.get(reverse("login")).content.decode()
    assert "Forgot your password?" in page
    wrong = client.post(reverse("login"), {"username": "ana", "password": "nope"})
    assert "Please enter a correct username and password" in wrong.content.decode()
    assert client.post(reverse("login"), {"username": "ana", "password": "pw-for-tests-123"}).status_code == 302

    anonymous = Client()
    assert "Reset your password" in anonymous.get(reverse("password_reset")).content.decode()
    sent = anonymous.post(reverse("password_reset"), {"email": "ana@example.org"}, follow=True)
    assert "Check your email" in sent.content.decode()
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = anonymous.get(link, follow=True)
    assert "Choose a password" in form.content.decode()
    done = anonymous.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-7", "new_password2": "a-new-long-password-7"},
        follow=True,
    )
    assert "Password saved" in done.content.decode()
    assert Client().login(username="ana", password="a-new-long-password-7")
    # The link works once.
    assert "This link no longer works" in Client().get(link, follow=True).content.decode()


def test_logging_out_shows_a_page_of_its_own(coach):
    client = _client(coach)
    response = client.post(reverse("logout"))
    assert "You are logged out" in response.content.decode()


def test_a_researcher_opening_a_coach_address_is_sent_to_the_study_in_the_admin(gallery, coach):
    team, other_team = Group.objects.create(name="team"), Group.objects.create(name="other")
    ours = live_study(gallery, slug="ours", status=Study.Status.DRAFT)
    ours.group = team
    ours.save(update_fields=["group"])
    theirs = live_study(gallery, slug="theirs", status=Study.Status.DRAFT)
    theirs.group = other_team
    theirs.save(update_fields=["group"])
    researcher = ResearcherFactory(username="lead")
    researcher.groups.add(team)
    client = _client(researcher)
    for name in ("coach:study", "coach:continue", "coach:done"):
        page = client.get(reverse(name, args=["ours"]))
        assert page.status_code == 404
        body = page.content.decode()
        assert "the coaches&#x27; view" in body or "the coaches' view" in body
        assert reverse("admin:studies_study_change", args=[ours.pk]) in body
        # Another group's study, and a coach who may not judge ours, learn nothing of it.
        other = client.get(reverse(name, args=["theirs"]))
        assert other.status_code == 404
        assert "admin" not in other.content.decode().lower()
        refused = _client(coach).get(reverse(name, args=["ours"]))
        assert refused.status_code == 404
        assert "/admin/" not in refused.content.decode()
