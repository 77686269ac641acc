"""The project package as a Django app, so that it can register the deployment checks in ``config.checks``."""

from __future__ import annotations

from django.apps import AppConfig


class CoachbenchConfig(AppConfig):
    name = "config"
    label = "coachbench"
    verbose_name = "coachbench"

    def ready(self) -> None:
        from config import checks  # noqa: F401 - registers the checks
