"""Security tests: log-in counts start empty in a cache of their own, and passwords hash fast."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(autouse=True)
def _own_login_counts(settings) -> None:
    # A memory cache private to each test: failed log-ins counted by one test never block another,
    # and clearing it can't touch a shared Redis that CACHE_URL may point at.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
