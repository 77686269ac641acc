"""Password guessing is throttled: per user name and per address, on the web, admin and API log-ins."""

from __future__ import annotations

import time
import uuid

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from core import login_throttle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "right-horse-battery-staple"
BLOCKED = "Too many failed log-in attempts"


@pytest.fixture
def ana(settings):
    settings.LOGIN_FAILURES_PER_USERNAME = 5
    settings.LOGIN_FAILURES_PER_ADDRESS = 30
    settings.LOGIN_FAILURE_WINDOW_S = 900
    return UserFactory(username="ana", email="ana@example.org", password=PASSWORD)


def _web_login(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_block_the_name_even_with_the_right_password(client, ana):
    for _ in range(5):
        response = _web_login(client, "ana", "guess")
        assert response.status_code == 200
        assert BLOCKED not in response.content.decode()
    response = _web_login(client, "ana", PASSWORD)
    assert response.status_code == 200
    page = response.content.decode()
    assert BLOCKED in page
    assert "for this user name" in page
    assert "15 more minutes" in page
    assert not _logged_in(client)
    # The name is blocked from every address, in any letter case.
    assert BLOCKED in _web_login(client, "ANA", PASSWORD, address="198.51.100.7").content.decode()
    # Someone else on the same network is not.
    UserFactory(username="bea", password=PASSWORD)
    assert _web_login(client, "bea", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_the_block_lifts_when_its_window_ends(client, ana):
    for _ in range(5):
        _web_login(client, "ana", "guess")
    assert not _logged_in(client)
    # Fifteen minutes pass: the window that started with the first failure is over.
    for key in login_throttle._keys(None, "ana"):
        record = cache.get(key)
        cache.set(key, {**record, "t0": time.time() - 901})
    assert _web_login(client, "ana", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_logging_in_clears_the_names_count(client, ana):
    for _ in range(4):
        _web_login(client, "ana", "guess")
    assert _web_login(client, "ana", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _web_login(client, "ana", "guess")
    assert _web_login(client, "ana", PASSWORD).status_code == 302


def test_one_address_trying_many_names_is_blocked(client, ana, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    for n in range(8):
        _web_login(client, f"someone-{n}", "guess", address="203.0.113.9")
    response = _web_login(client, "ana", PASSWORD, address="203.0.113.9")
    assert "from your network address" in response.content.decode()
    assert not _logged_in(client)
    # From another address the coach logs in as usual.
    assert _web_login(client, "ana", PASSWORD, address="203.0.113.10").status_code == 302


def test_the_address_comes_from_the_configured_proxy_header(client, ana, settings):
    settings.LOGIN_CLIENT_ADDRESS_HEADER = "HTTP_X_REAL_IP"
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for n in range(3):
        client.post(
            reverse("login"),
            {"username": f"x{n}", "password": "guess"},
            HTTP_X_REAL_IP="192.0.2.1",
            REMOTE_ADDR="10.0.0.1",
        )
    blocked = client.post(
        reverse("login"), {"username": "ana", "password": PASSWORD}, HTTP_X_REAL_IP="192.0.2.1", REMOTE_ADDR="10.0.0.1"
    )
    assert BLOCKED in blocked.content.decode()
    # Another client behind the same proxy is someone else.
    other = client.post(
        reverse("login"), {"username": "ana", "password": PASSWORD}, HTTP_X_REAL_IP="192.0.2.2", REMOTE_ADDR="10.0.0.1"
    )
    assert other.status_code == 302


def test_the_api_token_endpoint_answers_429_and_shares_the_count_with_the_web(client, ana):
    api = APIClient()
    url = reverse("api:token")
    for _ in range(3):
        assert api.post(url, {"username": "ana", "password": "guess"}).status_code == 400
    for _ in range(2):
        _web_login(client, "ana", "guess")
    refused = api.post(url, {"username": "ana", "password": PASSWORD})
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "throttled"
    assert BLOCKED in body["detail"]
    assert 0 < body["retry_after_s"] <= 900
    assert 0 < int(refused["Retry-After"]) <= 900
    assert "token" not in body
    # The web log-in is blocked for the name too.
    assert BLOCKED in _web_login(client, "ana", PASSWORD).content.decode()


def test_the_api_gives_a_token_to_the_right_password_before_any_block(ana):
    response = APIClient().post(reverse("api:token"), {"username": "ana", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"]


def test_the_admin_log_in_is_throttled_and_says_so(client, ana):
    ana.is_staff = True
    ana.save()
    url = reverse("admin:login")
    for _ in range(5):
        client.post(url, {"username": "ana", "password": "guess"})
    response = client.post(url, {"username": "ana", "password": PASSWORD})
    assert BLOCKED in response.content.decode()
    assert not _logged_in(client)


def test_every_log_in_path_is_refused_while_blocked(ana, rf):
    """The refusal is in the authentication backend: even code calling authenticate() directly is refused."""
    from django.contrib.auth import authenticate

    request = rf.post("/", REMOTE_ADDR="127.0.0.1")
    for _ in range(5):
        assert authenticate(request, username="ana", password="guess") is None
    assert authenticate(request, username="ana", password=PASSWORD) is None
    assert login_throttle.refusal(request, "ana") is not None


@pytest.mark.redis
def test_counts_live_in_redis_when_the_cache_is_redis(client, ana, settings):
    """With CACHE_URL=redis://..., every web process sees the same counts (here: the same Redis keys)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
            "KEY_PREFIX": f"login-throttle-test-{uuid.uuid4().hex}",
        }
    }
    keys = list(login_throttle._keys(RequestFactory().get("/"), "ana"))  # the name's and 127.0.0.1's
    try:
        for _ in range(5):
            _web_login(client, "ana", "guess")
        assert cache.get(keys[0])["n"] == 5
        assert BLOCKED in _web_login(client, "ana", PASSWORD).content.decode()
    finally:
        cache.delete_many(keys)
