"""Sessions end, and a password-reset link works once: both through Django's real views."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "right-horse-battery-staple"


@pytest.fixture
def ana():
    return UserFactory(username="ana", email="ana@example.org", password=PASSWORD)


def _log_in(client) -> None:
    response = client.post(reverse("login"), {"username": "ana", "password": PASSWORD})
    assert response.status_code == 302


def _session(client) -> Session:
    return Session.objects.get(session_key=client.cookies["sessionid"].value)


def test_a_session_lasts_its_age_from_log_in_however_active(client, ana, settings):
    before = timezone.now()
    _log_in(client)
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    # The cookie lives until the end pinned at log-in (counted from then, so a second or so less than the age).
    assert settings.SESSION_COOKIE_AGE - 60 <= int(cookie["max-age"]) <= settings.SESSION_COOKIE_AGE
    expires = _session(client).expire_date
    assert before + timedelta(seconds=settings.SESSION_COOKIE_AGE) <= expires
    # Working does not stretch it: the session ends SESSION_COOKIE_AGE after log-in, not after the last page.
    for _ in range(3):
        assert client.get(reverse("coach:home")).status_code == 200
        assert client.get(reverse("coach:history")).status_code == 200
    assert _session(client).expire_date == expires


def _last_seen_ago(client, seconds: int) -> None:
    """Move the session's record of its last request ``seconds`` into the past (as if the coach walked away)."""
    session = client.session
    session["last_seen"] = int(time.time()) - seconds
    session.save()


def test_a_session_left_idle_ends_with_a_message(client, ana, settings):
    settings.SESSION_IDLE_TIMEOUT_S = 1800
    _log_in(client)
    _last_seen_ago(client, 1799)
    assert client.get(reverse("coach:home")).status_code == 200
    _last_seen_ago(client, 1801)
    response = client.get(reverse("coach:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    page = client.get(response["Location"]).content.decode()
    assert "logged out after 30 minutes without activity" in page
    assert "_auth_user_id" not in client.session


def test_activity_keeps_a_session_but_never_past_its_age(client, ana, settings):
    settings.SESSION_IDLE_TIMEOUT_S = 1800
    _log_in(client)
    expires = _session(client).expire_date
    # A request after 25 idle minutes counts as activity: the idle clock starts again.
    _last_seen_ago(client, 1500)
    assert client.get(reverse("coach:home")).status_code == 200
    assert time.time() - client.session["last_seen"] < 60
    # The session was written, and its end stayed where log-in put it.
    assert _session(client).expire_date == expires


def test_an_expired_session_sends_the_coach_to_log_in_again(client, ana):
    _log_in(client)
    assert client.get(reverse("coach:home")).status_code == 200
    Session.objects.filter(pk=_session(client).pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("coach:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_logging_out_ends_the_session_on_the_server(client, ana):
    _log_in(client)
    key = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    # The old cookie, replayed, is no session.
    client.cookies["sessionid"] = key
    assert client.get(reverse("coach:home")).status_code == 302


def _reset_link(client, email: str) -> str:
    response = client.post(reverse("password_reset"), {"email": email})
    assert response.status_code == 302
    (message,) = mail.outbox
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


def test_a_password_reset_link_works_once(client, ana):
    link = _reset_link(client, "ana@example.org")
    # The link hides its token: it redirects to a set-password address, the token kept in the session.
    form_url = client.get(link)["Location"]
    assert "set-password" in form_url
    response = client.post(
        form_url, {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_complete")

    # The same link again, in this browser or another: refused, and a new one offered.
    for browser in (client, client.__class__()):
        again = browser.get(link, follow=True)
        assert again.status_code == 200
        assert again.context["validlink"] is False
        assert "This link no longer works" in again.content.decode()
    # Posting to the set-password address again changes nothing.
    replay = client.post(form_url, {"new_password1": "attacker-chosen-pass", "new_password2": "attacker-chosen-pass"})
    assert replay.status_code == 200
    assert replay.context["validlink"] is False
    ana.refresh_from_db()
    assert ana.check_password("a-new-long-passphrase")
    assert not ana.check_password(PASSWORD)


def test_a_reset_link_dies_when_the_password_changes_another_way(client, ana):
    link = _reset_link(client, "ana@example.org")
    ana.set_password("changed-by-the-coach-meanwhile")
    ana.save()
    assert client.get(link, follow=True).context["validlink"] is False


def test_asking_for_a_reset_does_not_reveal_who_has_an_account(client, ana):
    known = client.post(reverse("password_reset"), {"email": "ana@example.org"})
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mail.outbox) == 1


def test_reset_mails_to_one_address_stop_after_the_limit_without_telling_a_stranger(client, ana, settings):
    settings.PASSWORD_RESETS_PER_EMAIL = 3
    for _ in range(5):
        response = client.post(reverse("password_reset"), {"email": "ANA@example.org"})
        # Every request gets the same answer, so the page says nothing about which addresses have accounts.
        assert response.status_code == 302
        assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 3
    assert {m.to[0] for m in mail.outbox} == {"ana@example.org"}


def test_too_many_reset_requests_from_one_address_are_refused_with_the_wait(client, ana, settings):
    settings.PASSWORD_RESETS_PER_ADDRESS = 4
    for n in range(4):
        response = client.post(reverse("password_reset"), {"email": f"nobody{n}@example.org"})
        assert response.status_code == 302
    refused = client.post(reverse("password_reset"), {"email": "ana@example.org"})
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Too many password-reset requests from your network address. Wait 60 more minutes" in page
    assert "ana@example.org" in page  # the form keeps what was typed
    assert mail.outbox == []
    # Another client is not held up by this one.
    other = client.post(reverse("password_reset"), {"email": "ana@example.org"}, REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 302
    assert len(mail.outbox) == 1


def test_the_demo_password_is_refused_when_demo_logins_are_off(client, settings):
    from demo.accounts import COACHES, DEMO_PASSWORD

    UserFactory(username=COACHES[0], email="c1@example.org", password=DEMO_PASSWORD)
    settings.DEMO_LOGINS = True  # make run: DEBUG on, the README's logins work
    assert client.login(username=COACHES[0], password=DEMO_PASSWORD)
    client.logout()
    settings.DEMO_LOGINS = False  # DEBUG off: a copied demo database is not an open door
    response = client.post(reverse("login"), {"username": COACHES[0], "password": DEMO_PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    # The account itself still works once it has a password of its own.
    user = get_user_model().objects.get(username=COACHES[0])
    user.set_password(PASSWORD)
    user.save()
    assert client.login(username=COACHES[0], password=PASSWORD)
