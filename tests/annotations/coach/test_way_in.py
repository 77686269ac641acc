"""The coach's way in: the home page's buttons, a study being prepared, the account pages, the icon."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from studies.models import Study
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    rows_only_gallery,
)
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery():
    return rows_only_gallery()


@pytest.fixture
def coach(gallery):
    return make_coach("ana", sports=[gallery.sport])


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_start_opens_the_instructions_once_then_goes_straight_to_the_next_item(gallery, coach):
    study = live_study(gallery)
    add_items(study, gallery, ["likert"] * 2)
    client = _client(coach)
    instructions, straight = reverse("coach:study", args=[study.slug]), reverse("coach:continue", args=[study.slug])
    html = client.get("/").content.decode()
    assert f'href="{instructions}" class="btn btn--primary" autofocus>Start' in html
    client.get(instructions)
    html = client.get("/").content.decode()
    assert f'href="{straight}" class="btn btn--primary" autofocus>Start' in html
    assert f'href="{instructions}" class="btn btn--ghost">Instructions' in html  # still one click away


def test_before_its_study_is_built_the_home_page_says_so_and_looks_again(gallery, coach):
    live_study(gallery, status=Study.Status.GENERATING)
    html = _client(coach).get("/").content.decode()
    assert "Your study is being prepared" in html
    assert '<meta http-equiv="refresh" content="10">' in html
    assert "No study is open for you yet" not in html


def test_with_no_study_coming_the_home_page_does_not_wait(gallery, coach):
    html = _client(coach).get("/").content.decode()
    assert "No study is open for you yet" in html
    assert 'http-equiv="refresh"' not in html


def test_logout_opened_directly_offers_the_button_and_a_post_logs_out(coach):
    client = _client(coach)
    page = client.get("/accounts/logout/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<form method="post" action="/accounts/logout/">' in html
    assert ">Log out</button>" in html
    assert "_auth_user_id" in client.session  # a GET logs no one out
    assert client.post("/accounts/logout/").status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_password_change_page_is_the_sites_own(coach):
    client = _client(coach)
    html = client.get(reverse("password_change")).content.decode()
    assert "Change your password · coachbench" in html
    assert "Django administration" not in html
    new = "a-new-long-phrase-9"
    form = {"old_password": "pw-for-tests-123", "new_password1": new, "new_password2": new}
    response = client.post(reverse("password_change"), form, follow=True)
    assert "Your password is changed" in response.content.decode()
    coach.refresh_from_db()
    assert coach.check_password(new)


def test_every_page_names_its_icon_and_favicon_ico_finds_it(coach):
    assert '<link rel="icon" href="/static/favicon.svg"' in Client().get(reverse("login")).content.decode()
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
