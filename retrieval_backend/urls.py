"""Media routes: rendered clips for logged-in users."""

from __future__ import annotations

app_name = "media"
urlpatterns: list = []
