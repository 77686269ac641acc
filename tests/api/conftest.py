"""API fixtures: a researcher with the model permissions of the three apps, coaches, token clients.

``api(user)`` returns an APIClient authenticated with that user's token, as a script would be;
``api(None)`` an anonymous one.
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ResearcherFactory
from tests.studies.conftest import coaches, gallery, make_coach, study  # noqa: F401 - shared fixtures


def make_researcher(username: str = "researcher", *, perms: bool = True):
    """A staff user with every model permission of the three apps (``perms=False``: staff with none)."""
    return ResearcherFactory(username=username, perms=perms)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users here are made by the handful in every test; the production hasher costs most of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api():
    def client_for(user) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


@pytest.fixture
def researcher(db):
    return make_researcher()


@pytest.fixture
def coach(db):
    return make_coach("api-coach")


@pytest.fixture
def other_coach(db):
    return make_coach("api-other-coach")
