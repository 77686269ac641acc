"""Deployment checks of coachbench's own (``manage.py check --deploy``), beside Django's.

Each names a setting whose unsafe default is fine on a developer's machine and wrong
in production, and says what to set.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def video_roots_are_set(app_configs, **kwargs) -> list[Warning]:
    if settings.VIDEO_ALLOWED_ROOTS:
        return []
    return [
        Warning(
            "VIDEO_ALLOWED_ROOTS is empty: a gallery or query manifest may name any file this server can read.",
            hint="Set VIDEO_ALLOWED_ROOTS to the folders that hold your source videos (comma-separated).",
            id="coachbench.W001",
        )
    ]


@register(Tags.security, deploy=True)
def login_counts_are_shared(app_configs, **kwargs) -> list[Warning]:
    backend = settings.CACHES["default"]["BACKEND"]
    if not backend.endswith(("LocMemCache", "DummyCache")):
        return []
    return [
        Warning(
            "The cache is in each process's memory: every web process counts failed log-ins and API "
            "requests on its own, so a password guesser gets as many tries as there are processes.",
            hint="Set CACHE_URL=redis://HOST:6379/1, shared by every web process.",
            id="coachbench.W002",
        )
    ]


@register(Tags.security, deploy=True)
def video_urls_are_limited(app_configs, **kwargs) -> list[Warning]:
    if settings.VIDEO_ALLOWED_URL_PREFIXES:
        return []
    return [
        Warning(
            "VIDEO_ALLOWED_URL_PREFIXES is empty: a manifest may name any http(s) address, and the server "
            "will fetch it, internal services included.",
            hint="Set VIDEO_ALLOWED_URL_PREFIXES to the addresses your videos are served from (comma-separated).",
            id="coachbench.W003",
        )
    ]
