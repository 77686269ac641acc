"""Coach-facing pages."""

from __future__ import annotations

from django.urls import path

from annotations import views

app_name = "coach"
urlpatterns = [
    path("", views.home, name="home"),
]
