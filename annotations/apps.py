from __future__ import annotations

from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"

    def ready(self) -> None:
        # Connects the log-in signal that applies a coach's chosen language.
        from annotations.coach import language  # noqa: F401
