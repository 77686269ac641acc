"""The coach's language: chosen on the settings page and kept on the profile, else the browser's, else English."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from studies.models import CoachProfile
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    rows_only_gallery,
)
from tests.factories import PASSWORD
from tests.studies.conftest import make_coach

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery():
    return rows_only_gallery()


@pytest.fixture
def coach(gallery):
    return make_coach("lucia", sports=[gallery.sport])


def _choose(coach, language: str) -> None:
    CoachProfile.objects.filter(user=coach).update(language=language)


def _logged_in(coach, **headers) -> Client:
    """A browser that logs in through the log-in page, as a coach does."""
    client = Client(headers=headers)
    response = client.post(reverse("login"), {"username": coach.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_a_spanish_coach_reads_home_and_the_task_page_in_spanish(gallery, coach):
    _choose(coach, "es")
    study = live_study(gallery)
    add_items(study, gallery, ["pairwise"])
    client = _logged_in(coach)
    home = client.get("/").content.decode()
    assert '<html lang="es">' in home
    assert "Tus estudios" in home
    assert "Mis respuestas" in home
    assert "Cerrar sesión" in home
    assert "Your studies" not in home
    task = client.get(reverse("coach:continue", args=[study.slug]), follow=True).content.decode()
    assert "Enviar" in task
    assert "Marcar" in task
    assert "Clip izquierdo" in task
    assert "Clip derecho" in task
    assert "Ejecución del atleta" in task
    assert "Ayuda más el izquierdo" in task
    assert "Ninguno ayuda" in task
    assert "El error del atleta" in task
    assert ">Submit" not in task  # no English button text left
    assert reverse("javascript-catalog") in task  # the scripts' strings, from a file (the CSP allows no inline)


def test_a_spanish_coach_gets_messages_and_answer_errors_in_spanish(gallery, coach):
    _choose(coach, "es")
    study = live_study(gallery, require_full_watch=True)
    add_items(study, gallery, ["pairwise"])
    client = _logged_in(coach)
    task_url = client.get(reverse("coach:continue", args=[study.slug])).url
    refused = client.post(task_url, {"choice": "left"})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "Este estudio pide reproducir cada vídeo hasta el final" in html
    assert "la ejecución del atleta y el clip izquierdo y el clip derecho" in html
    saved = client.post(reverse("coach:settings"), {"language": "es"}, follow=True).content.decode()
    assert "Tu idioma se ha guardado." in saved


def test_the_scripts_strings_come_in_the_coachs_language(coach):
    _choose(coach, "es")
    catalog = _logged_in(coach).get(reverse("javascript-catalog"))
    assert catalog["Content-Type"].startswith("text/javascript")
    assert "Enviar (Enter)" in catalog.content.decode()


def test_without_a_choice_the_browser_language_is_used(coach):
    spanish = _logged_in(coach, accept_language="es-ES,es;q=0.9,en;q=0.5").get("/").content.decode()
    assert "Tus estudios" in spanish
    english = _logged_in(coach).get("/").content.decode()
    assert "Your studies" in english
    assert '<html lang="en">' in english


def test_a_coach_who_chose_english_gets_english_from_a_spanish_browser(coach):
    _choose(coach, "en")
    client = _logged_in(coach, accept_language="es")
    html = client.get("/").content.decode()
    assert "Your studies" in html
    assert "Tus estudios" not in html


def test_the_log_in_page_follows_the_browser():
    assert "Iniciar sesión" in Client(headers={"accept_language": "es"}).get(reverse("login")).content.decode()
    assert "Log in" in Client().get(reverse("login")).content.decode()


def test_choosing_a_language_saves_it_on_the_profile_and_applies_it_at_once(coach):
    client = _logged_in(coach)
    page = client.get(reverse("coach:settings")).content.decode()
    assert '<option value="es">Español</option>' in page
    assert "Your browser&#x27;s language" in page
    response = client.post(reverse("coach:settings"), {"language": "es"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert CoachProfile.objects.get(user=coach).language == "es"
    assert "Tus estudios" in client.get("/").content.decode()
    # Back to the browser's language: the choice is cleared and the cookie goes.
    response = client.post(reverse("coach:settings"), {"language": ""}, headers={"accept_language": "en"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    assert CoachProfile.objects.get(user=coach).language == ""
    assert "Your studies" in client.get("/").content.decode()


def test_a_language_the_site_does_not_offer_is_refused_with_what_to_choose(coach):
    client = _logged_in(coach)
    response = client.post(reverse("coach:settings"), {"language": "xx"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert CoachProfile.objects.get(user=coach).language == ""


def test_the_choice_follows_the_coach_to_another_browser(coach):
    _logged_in(coach).post(reverse("coach:settings"), {"language": "es"})
    assert "Tus estudios" in _logged_in(coach).get("/").content.decode()


def test_a_link_to_the_settings_is_in_the_top_bar(coach):
    html = _logged_in(coach).get("/").content.decode()
    assert f'href="{reverse("coach:settings")}">Settings</a>' in html
