"""API routes of annotations."""

from __future__ import annotations

urlpatterns: list = []
