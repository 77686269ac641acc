"""API routes of studies."""

from __future__ import annotations

urlpatterns: list = []
