"""API routes of retrieval_backend."""

from __future__ import annotations

urlpatterns: list = []
