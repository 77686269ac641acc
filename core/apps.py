"""Platform plumbing shared by every app: jobs, the API kit, database access, throttles, session expiry."""

from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        from core import checks  # noqa: F401 - registers the deployment checks
