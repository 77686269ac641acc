from __future__ import annotations

from django.apps import AppConfig


class RetrievalBackendConfig(AppConfig):
    name = "retrieval_backend"
    verbose_name = "Gallery and retrieval"
