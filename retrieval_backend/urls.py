"""Media routes: rendered clips for logged-in users."""

from __future__ import annotations

from django.urls import path

app_name = "media"
urlpatterns: list = []
